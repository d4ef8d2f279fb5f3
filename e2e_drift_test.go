package main

import (
	"context"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// checkDriftRestored changes the deployed objects behind Pulumi's back, as
// a hurried operator would with kubectl: the workers scaled down, a flag
// added to the master's arguments, the master's Service deleted. The next
// `up` with refresh, as the deploy workflow runs it, puts the workers and
// the Service back (the patchForce annotation lets it take .spec.replicas
// back from kubectl's scale). The edited arguments stay: a container's args
// is an atomic list that kubectl's patch now owns, and the provider's
// refresh does not see a change to a field its manager no longer owns
// (pulumi/pulumi-kubernetes#2404 and #3697, open). docs/cluster.md says so, and
// how to undo such an edit; the test logs what it finds for the args, so a
// provider that fixes it shows here.
func checkDriftRestored(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl) {
	t.Helper()
	wantWorkers := kube.deployment("loadtest-worker").Spec.Replicas
	wantArgs := kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0].Args
	for _, args := range [][]string{
		{"scale", "deployment/loadtest-worker", "--replicas=1"},
		{"patch", "deployment/loadtest-master", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--loglevel=DEBUG"}]`},
		{"delete", "service/loadtest-master", "--wait=true"},
	} {
		if _, err := kube.run("", args...); err != nil {
			t.Fatal(err)
		}
	}
	if kube.exists("service/loadtest-master") || kube.deployment("loadtest-worker").Spec.Replicas != 1 {
		t.Fatal("the drift did not take")
	}
	up, err := stack.Up(ctx, optup.Refresh())
	if err != nil {
		t.Fatalf("up with refresh after drift: %v", err)
	}
	if got := kube.deployment("loadtest-worker").Spec.Replicas; got != wantWorkers {
		t.Errorf("workers %d after up, want %d", got, wantWorkers)
	}
	argsRestored := slices.Equal(kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0].Args, wantArgs)
	if !kube.exists("service/loadtest-master") {
		t.Error("the master's Service is still gone after up")
	}
	t.Logf("drift restored by up with refresh (%v): workers scaled to 1 -> %d, the deleted Service recreated; the master's edited args restored: %v",
		up.Summary.ResourceChanges, wantWorkers, argsRestored)
	// Undo the edit the way docs/cluster.md tells an operator to.
	if !argsRestored {
		if _, err := kube.run("", "rollout", "undo", "deployment/loadtest-master"); err != nil {
			t.Fatal(err)
		}
		if got := kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, wantArgs) {
			t.Errorf("master args %v after kubectl rollout undo, want %v", got, wantArgs)
		}
	}
}
