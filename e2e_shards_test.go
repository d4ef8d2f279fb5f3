package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkShards: from one shard to three and back, on the API server. The
// up to three shards creates the other two and replaces nothing of shard
// 0; every shard's master and worker Deployments come up, and the API
// server's own reading of each selector (kubectl get pods -l) finds, for
// every Service and Deployment, exactly its own shard's pod of its role,
// and for the shared NetworkPolicy every shard's masters and workers. The
// stack exports every shard's master Service. Back at one shard, the
// others are gone. The stack has 3 workers on entry, and leaves with them.
func checkShards(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl) {
	t.Helper()
	setConfig(t, ctx, stack, map[string]string{"shards": "3"})
	preview, err := stack.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if preview.ChangeSummary[apitype.OpReplace] != 0 || preview.ChangeSummary[apitype.OpCreateReplacement] != 0 || preview.ChangeSummary[apitype.OpDelete] != 0 {
		t.Errorf("preview of shards 1 -> 3: %v; want no replacement and no delete", preview.ChangeSummary)
	}
	t.Logf("preview of shards 1 -> 3: %v", preview.ChangeSummary)
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up of three shards: %v", err)
	}
	outputs, err := stack.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	instances := []string{"loadtest", "loadtest-1", "loadtest-2"}
	if got := fmt.Sprint(outputs["shardMasterServices"].Value); got != "[loadtest-master loadtest-1-master loadtest-2-master]" {
		t.Errorf("output shardMasterServices = %s", got)
	}
	if got := fmt.Sprint(outputs["shardWorkers"].Value, outputs["shards"].Value); got != "[1 1 1] 3" {
		t.Errorf("outputs shardWorkers and shards = %s, want [1 1 1] 3", got)
	}
	for _, instance := range instances {
		for _, role := range []string{"master", "worker"} {
			name := instance + "-" + role
			d := kube.deployment(name)
			if d.Spec.Replicas != 1 || d.Status.AvailableReplicas != 1 {
				t.Errorf("%s: %d of %d available, want 1 of 1", name, d.Status.AvailableReplicas, d.Spec.Replicas)
			}
			if pods := kube.podsSelected(t, labelSelector(d.Spec.Selector.MatchLabels, nil)); len(pods) != 1 || !strings.HasPrefix(pods[0], name+"-") {
				t.Errorf("Deployment %s's selector picks pods %v, want its own one", name, pods)
			}
		}
		var svc struct {
			Spec struct {
				Selector map[string]string `json:"selector"`
			} `json:"spec"`
		}
		kube.getJSON(&svc, "service/"+instance+"-master")
		if pods := kube.podsSelected(t, labelSelector(svc.Spec.Selector, nil)); len(pods) != 1 || !strings.HasPrefix(pods[0], instance+"-master-") {
			t.Errorf("Service %s-master selects pods %v, want its own master's one", instance, pods)
		}
		worker := kube.deployment(instance + "-worker")
		if host, _ := worker.Spec.Template.Spec.Containers[0].EnvValue("LOCUST_MASTER_NODE_HOST"); host != instance+"-master.locust.svc" {
			t.Errorf("%s-worker reaches the master at %q, want its own Service", instance, host)
		}
	}
	var policy struct {
		Spec struct {
			PodSelector selectorJSON `json:"podSelector"`
			Ingress     []struct {
				From []struct {
					PodSelector *selectorJSON `json:"podSelector"`
				} `json:"from"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	kube.getJSON(&policy, "networkpolicy/loadtest-master-ingress")
	for what, c := range map[string]struct {
		sel    selectorJSON
		prefix string
	}{
		"master-ingress's pods":    {policy.Spec.PodSelector, "-master-"},
		"master-ingress's clients": {*policy.Spec.Ingress[0].From[0].PodSelector, "-worker-"},
	} {
		pods := kube.podsSelected(t, labelSelector(c.sel.MatchLabels, c.sel.MatchExpressions))
		for _, instance := range instances {
			own := slices.DeleteFunc(slices.Clone(pods), func(p string) bool { return !strings.HasPrefix(p, instance+c.prefix) })
			if len(pods) != len(instances) || len(own) != 1 {
				t.Errorf("the NetworkPolicy's %s: %v, want one of each shard", what, pods)
				break
			}
		}
	}

	setConfig(t, ctx, stack, map[string]string{"shards": "0"})
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up back to one shard: %v", err)
	}
	for _, object := range []string{"deployment/loadtest-1-master", "deployment/loadtest-2-worker", "service/loadtest-1-master"} {
		if kube.exists(object) {
			t.Errorf("%s is left after going back to one shard", object)
		}
	}
	if w := kube.deployment("loadtest-worker"); w.Spec.Replicas != 3 {
		t.Errorf("loadtest-worker has %d replicas back at one shard, want 3", w.Spec.Replicas)
	}
}

// selectorJSON is a label selector as the API server stores it.
type selectorJSON struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// labelSelector writes a selector as kubectl's -l takes it; only the In
// operator, the one the stack uses, is written.
func labelSelector(labels map[string]string, expressions []struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	for _, e := range expressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(e.Operator), strings.Join(e.Values, ",")))
	}
	return strings.Join(parts, ",")
}

// podsSelected are the names of the pods the API server finds for a label
// selector.
func (k *kubectl) podsSelected(t *testing.T, selector string) []string {
	t.Helper()
	out, err := k.run("", "get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}
