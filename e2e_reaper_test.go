package main

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// checkReaper deploys three more stacks of the project beside the main one:
// one whose time to live is past at the reaper's --now, one whose is not,
// and one whose first up failed after creating its objects, so it recorded
// no outputs (an exported output rejected, as when an EKS create fails:
// sdk v3.274.1 go/pulumi/context.go:3129-3132, RegisterResourceOutputs
// sends nothing when an output fails). It runs cmd/reaper on the workspace as the
// scheduled workflow does: a dry run changes nothing, the real run destroys
// the expired stack and the failed one (no resources in their state, their
// objects gone from the API server), leaves the live one and the main stack
// (no expiry) untouched, and leaves the selected stack selected.
func checkReaper(t *testing.T, ctx context.Context, bin, workDir string, env map[string]string, kube *kubectl,
	project *workspace.Project, settings *workspace.ProjectStack, locustfiles string, cluster cluster) {
	t.Helper()
	stacks := map[string]*auto.Stack{}
	objects := func(ns string) map[string]string {
		var list struct {
			Items []struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, ResourceVersion string
				} `json:"metadata"`
			} `json:"items"`
		}
		kube.getJSON(&list, "deployments,services,configmaps,networkpolicies", "--namespace", ns)
		m := map[string]string{}
		for _, it := range list.Items {
			m[it.Kind+"/"+it.Metadata.Name] = it.Metadata.ResourceVersion
		}
		return m
	}
	for name, ttl := range map[string]string{"reap-old": "1", "reap-new": "5"} {
		s, err := auto.UpsertStackInlineSource(ctx, name, project.Name.String(), program(locustfiles, workDir),
			auto.Project(*project), auto.Stacks(map[string]workspace.ProjectStack{name: *settings}),
			auto.WorkDir(workDir), auto.PulumiHome(env["PULUMI_HOME"]), auto.EnvVars(env), pulumiAt(t, bin))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.Destroy(context.Background())
			s.Workspace().RemoveStack(context.Background(), name)
		})
		setConfig(t, ctx, s, map[string]string{"kubeconfig": cluster.kubeconfig, "kubeContext": cluster.context,
			"namespace": name, "ttlHours": ttl, "workers": "1"})
		if _, err := s.Up(ctx); err != nil {
			t.Fatalf("up of %s: %v", name, err)
		}
		outputs, err := s.Outputs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: expiresAt %v", name, outputs["expiresAt"].Value)
		stacks[name] = &s
	}
	// A first up that fails after its objects exist: the reaper finds its
	// ttlHours and start in the update history the file backend keeps.
	failing := func(ctx *pulumi.Context) error {
		if err := program(locustfiles, workDir)(ctx); err != nil {
			return err
		}
		ctx.Export("failure", pulumi.String("x").ToStringOutput().ApplyT(func(string) (string, error) {
			return "", errors.New("the first up fails after creating its objects")
		}))
		return nil
	}
	failed, err := auto.UpsertStackInlineSource(ctx, "reap-failed", project.Name.String(), failing,
		auto.Project(*project), auto.Stacks(map[string]workspace.ProjectStack{"reap-failed": *settings}),
		auto.WorkDir(workDir), auto.PulumiHome(env["PULUMI_HOME"]), auto.EnvVars(env), pulumiAt(t, bin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		failed.Destroy(context.Background())
		failed.Workspace().RemoveStack(context.Background(), "reap-failed")
	})
	setConfig(t, ctx, failed, map[string]string{"kubeconfig": cluster.kubeconfig, "kubeContext": cluster.context,
		"namespace": "reap-failed", "ttlHours": "1", "workers": "1"})
	if _, err := failed.Up(ctx); err == nil {
		t.Fatal("the failing first up succeeded")
	}
	if outputs, _ := failed.Outputs(ctx); len(outputs) != 0 || len(objects("reap-failed")) == 0 {
		t.Fatalf("after the failed first up: outputs %v, objects %v; want none, and its objects on the API server", outputs, objects("reap-failed"))
	}

	// An up with the same ttlHours keeps the expiry.
	before, _ := stacks["reap-new"].Outputs(ctx)
	if _, err := stacks["reap-new"].Up(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := stacks["reap-new"].Outputs(ctx); after["expiresAt"].Value != before["expiresAt"].Value {
		t.Errorf("a second up with the same ttlHours moved expiresAt from %v to %v", before["expiresAt"].Value, after["expiresAt"].Value)
	}

	reaper := filepath.Join(t.TempDir(), "reaper")
	if out, err := exec.Command("go", "build", "-o", reaper, "./cmd/reaper").CombinedOutput(); err != nil {
		t.Fatalf("building cmd/reaper: %v\n%s", err, out)
	}
	// Two hours on: reap-old (1 h) has expired, reap-new (5 h) has not.
	later := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	run := func(args ...string) (string, int) {
		cmd := exec.CommandContext(ctx, reaper, append([]string{"--dir", workDir, "--now", later}, args...)...)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("reaper: %v", err)
		}
		t.Logf("reaper %v: exit %d\n%s", args, code, out)
		if code != 0 {
			t.Logf("its progress:\n%s", stderr.String())
		}
		return string(out), code
	}
	old, live, main, half := objects("reap-old"), objects("reap-new"), kube.resourceVersions(), objects("reap-failed")
	selected, err := failed.Workspace().Stack(ctx)
	if err != nil || selected == nil {
		t.Fatalf("the selected stack: %v, %v", selected, err)
	}

	out, code := run("--dry-run")
	for _, want := range []string{"reap-old: would destroy: expired", "reap-new: kept: expires", "local: kept: no expiry", "reap-failed: would destroy: expired"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: no %q in its report", want)
		}
	}
	if code != 0 || !maps.Equal(objects("reap-old"), old) || !maps.Equal(objects("reap-new"), live) || !maps.Equal(objects("reap-failed"), half) {
		t.Errorf("the dry run exited %d or changed objects", code)
	}
	if now, err := failed.Workspace().Stack(ctx); err != nil || now == nil || now.Name != selected.Name {
		t.Errorf("the dry run left %v selected (%v); it found %s", now, err, selected.Name)
	}

	if out, code := run("--dry-run", "--stack", "reap-new"); code != 0 || strings.Contains(out, "reap-old") || !strings.Contains(out, "reap-new: kept") {
		t.Errorf("--stack reap-new: exit %d; want 0 and only reap-new", code)
	}
	if _, code := run("--dry-run", "--stack", "no-such-stack"); code != 2 {
		t.Errorf("--stack of a stack the backend does not have: exit %d, want 2", code)
	}

	out, code = run()
	if code != 0 || !strings.Contains(out, "reap-old: destroyed") || !strings.Contains(out, "reap-failed: destroyed") ||
		!strings.Contains(out, "reap-new: kept") || !strings.Contains(out, "local: kept: no expiry") {
		t.Errorf("reaper exited %d; want 0, reap-old and reap-failed destroyed and the others kept", code)
	}
	kube.waitGone(t, "namespace/reap-old", 2*time.Minute)
	kube.waitGone(t, "namespace/reap-failed", 2*time.Minute)
	for name, s := range map[string]auto.Stack{"reap-old": *stacks["reap-old"], "reap-failed": failed} {
		for _, r := range exportState(t, ctx, s).Resources {
			if r.Type != "pulumi:pulumi:Stack" {
				t.Errorf("the reaped stack %s still holds %s %s", name, r.Type, r.URN.Name())
			}
		}
	}
	if now, err := failed.Workspace().Stack(ctx); err != nil || now == nil || now.Name != selected.Name {
		t.Errorf("the reaper left %v selected (%v); it found %s", now, err, selected.Name)
	}
	if got := objects("reap-new"); len(got) == 0 || !maps.Equal(got, live) {
		t.Errorf("the live stack's objects changed: %v -> %v", live, got)
	}
	if got := kube.resourceVersions(); !maps.Equal(got, main) {
		t.Errorf("the main stack's objects changed: %v -> %v", main, got)
	}
	// The live stack goes too, so the main stack's last checks see only
	// their own objects.
	if _, err := stacks["reap-new"].Destroy(ctx); err != nil {
		t.Fatalf("destroy of reap-new: %v", err)
	}
	kube.waitGone(t, "namespace/reap-new", 2*time.Minute)
}

// pulumiAt is the Automation API's handle on the CLI in bin.
func pulumiAt(t *testing.T, bin string) auto.LocalWorkspaceOption {
	t.Helper()
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(bin)})
	if err != nil {
		t.Fatal(err)
	}
	return auto.Pulumi(cli)
}
