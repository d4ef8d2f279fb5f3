package main

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// checkReaper deploys two more stacks of the project beside the main one,
// one whose time to live is past at the reaper's --now and one whose is not,
// and runs cmd/reaper on the workspace as the scheduled workflow does: a dry
// run changes nothing, the real run destroys the expired stack (no
// resources in its state, its objects gone from the API server) and leaves
// the live one and the main stack (no expiry) untouched.
func checkReaper(t *testing.T, ctx context.Context, bin, workDir string, env map[string]string, kube *kubectl,
	project *workspace.Project, settings *workspace.ProjectStack, locustfiles string, cluster cluster) {
	t.Helper()
	stacks := map[string]*auto.Stack{}
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
	old, live, main := objects("reap-old"), objects("reap-new"), kube.resourceVersions()

	out, code := run("--dry-run")
	for _, want := range []string{"reap-old: would destroy: expired", "reap-new: kept: expires", "local: kept: no expiry"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: no %q in its report", want)
		}
	}
	if code != 0 || !maps.Equal(objects("reap-old"), old) || !maps.Equal(objects("reap-new"), live) {
		t.Errorf("the dry run exited %d or changed objects", code)
	}

	if out, code := run("--dry-run", "--stack", "reap-new"); code != 0 || strings.Contains(out, "reap-old") || !strings.Contains(out, "reap-new: kept") {
		t.Errorf("--stack reap-new: exit %d; want 0 and only reap-new", code)
	}
	if _, code := run("--dry-run", "--stack", "no-such-stack"); code != 2 {
		t.Errorf("--stack of a stack the backend does not have: exit %d, want 2", code)
	}

	out, code = run()
	if code != 0 || !strings.Contains(out, "reap-old: destroyed") || !strings.Contains(out, "reap-new: kept") || !strings.Contains(out, "local: kept: no expiry") {
		t.Errorf("reaper exited %d; want 0, reap-old destroyed and the others kept", code)
	}
	kube.waitGone(t, "namespace/reap-old", 2*time.Minute)
	for _, r := range exportState(t, ctx, *stacks["reap-old"]).Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			t.Errorf("the reaped stack still holds %s %s", r.Type, r.URN.Name())
		}
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
