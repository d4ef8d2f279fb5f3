package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkInterruptedUpRecovers interrupts an `up` in the middle, as a closed
// laptop or a cancelled CI job would, then recovers the way the README
// tells a user to, and checks that the stack converges with nothing left
// behind in the API server:
//
//   - SIGKILL of the Pulumi CLI and its plugins (a runner killed, a laptop
//     closed): the file backend keeps its lock (the next command fails
//     naming `pulumi cancel`) and the state keeps the operations that were
//     running (pending operations).
//   - A cancelled context, which the Automation API turns into SIGINT (what
//     Ctrl-C and a cancelled GitHub job send first): Pulumi stops cleanly.
//
// Recovery: `pulumi cancel` where a lock is left; for each pending create,
// import the object when the API server has it (its ID is namespace/name,
// known from the state's inputs), else drop it; `pulumi refresh`; `up`.
func checkInterruptedUpRecovers(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, locustfiles, bin, workDir string, env map[string]string) {
	t.Helper()
	for i, how := range []string{"SIGKILL", "cancel"} {
		// A change that replaces the locustfiles' ConfigMap and rolls both
		// Deployments: creates, updates and a delete to interrupt.
		f, err := os.OpenFile(filepath.Join(locustfiles, "bookinfo.py"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\n# interrupted up %d (%s)\n", i, how)
		f.Close()

		upCtx, cancel := context.WithCancel(ctx)
		stream := make(chan events.EngineEvent)
		var interrupted sync.Once
		var at string
		done := make(chan struct{})
		go func() {
			defer close(done)
			for e := range stream {
				// SIGKILL as the new ConfigMap is created (a create the state
				// cannot vouch for); SIGINT as the first Deployment's rollout
				// is awaited.
				if e.ResourcePreEvent == nil || e.ResourcePreEvent.Planning {
					continue
				}
				m := e.ResourcePreEvent.Metadata
				atCreate := (m.Op == apitype.OpCreateReplacement || m.Op == apitype.OpCreate) && strings.Contains(m.Type, "ConfigMap")
				atUpdate := m.Op == apitype.OpUpdate && strings.Contains(m.Type, "Deployment")
				if how == "SIGKILL" && !atCreate || how == "cancel" && !atUpdate {
					continue
				}
				interrupted.Do(func() {
					at = fmt.Sprintf("%s of %s", m.Op, m.URN)
					if how == "cancel" {
						cancel()
						return
					}
					if err := killPulumi(); err != nil {
						t.Errorf("killing the Pulumi CLI: %v", err)
					}
				})
			}
		}()
		_, err = stack.Up(upCtx, optup.EventStreams(stream))
		<-done
		cancel()
		if err == nil || at == "" {
			t.Fatalf("%s: the up was not interrupted (err %v)", how, err)
		}

		// A killed CLI leaves the backend's lock (a CLI stopped by SIGINT
		// does not). The deploy workflow's check, run on the real CLI and
		// state, keeps a lock that a running update may hold, and removes
		// one older than any update may run: here "older than 0 minutes".
		// A kill while the file backend writes the state can leave it
		// unreadable (seen: "failed to load checkpoint: EOF"): the script
		// stops on it, and the backend's own .bak of the previous state is
		// put back, as the README says.
		restored := false
		// readable checks the state and, when the kill cut it, runs the
		// recovery above. Seen once under load: the first read passed and
		// the next found the state cut, so it reads twice before going on.
		readable := func() {
			t.Helper()
			_, err := stack.Export(ctx)
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "failed to load checkpoint") || restored {
				t.Fatalf("%s: exporting the state after the interruption (restored from .bak: %v): %v", how, restored, err)
			}
			if code, said := recoverScript(t, bin, workDir, env, "90"); code != 1 || !strings.Contains(said, "cannot be read") {
				t.Errorf("%s: recover-interrupted.sh on an unreadable state: exit %d:\n%s", how, code, said)
			}
			state := filepath.Join(strings.TrimPrefix(env["PULUMI_BACKEND_URL"], "file://"), ".pulumi", "stacks", "locust-eks", "local.json")
			b, err := os.ReadFile(state + ".bak")
			if err != nil || len(b) == 0 {
				t.Fatalf("%s: the state is unreadable and its backup is too (%d bytes): %v", how, len(b), err)
			}
			if err := os.WriteFile(state, b, 0o644); err != nil {
				t.Fatal(err)
			}
			restored = true
		}
		readable()
		readable()
		pending := pendingOperations(t, ctx, stack)
		_, said := recoverScript(t, bin, workDir, env, "90")
		keptLock := strings.Contains(said, "minutes old; an update may still be running, so it stays")
		if keptLock != (how == "SIGKILL") {
			t.Errorf("%s: recover-interrupted.sh said of the lock (want one kept after SIGKILL only):\n%s", how, said)
		}
		code, said := recoverScript(t, bin, workDir, env, "0")
		if removed := strings.Contains(said, "Removing it."); removed != (how == "SIGKILL") {
			t.Errorf("%s: recover-interrupted.sh with a 0-minute limit (want the lock removed after SIGKILL only):\n%s", how, said)
		}
		// Then it goes on unless a create is pending.
		creating := slices.ContainsFunc(pending, func(op apitype.OperationV2) bool { return op.Type == apitype.OperationTypeCreating })
		if want := map[bool]int{false: 0, true: 1}[creating]; code != want {
			t.Errorf("%s: recover-interrupted.sh exit %d, want %d:\n%s", how, code, want, said)
		}
		must := func(what string, op func() error) {
			t.Helper()
			if err := op(); err != nil {
				t.Fatalf("%s: %s after the recovery: %v", how, what, err)
			}
		}
		if !creating {
			// What the deploy workflow does next: up with refresh.
			var up auto.UpResult
			must("up --refresh", func() (err error) { up, err = stack.Up(ctx, optup.Refresh()); return err })
			checkRecovered(t, ctx, stack, kube, how, i)
			t.Logf("%s during the %s: state restored from its .bak: %v; lock left (then removed by recover-interrupted.sh): %v; pending operations %v; the script went on; up --refresh %v, converged, no orphans",
				how, at, restored, keptLock, describe(pending), up.Summary.ResourceChanges)
			continue
		}
		// As the README says: import a create of a new resource that
		// happened; a replacement's (its URN still held by the old
		// object in the state) is deleted and dropped, as is one that did
		// not happen, and the next up makes the replacement again. Seen
		// once: importing a replacement's object left it orphaned after
		// the up, which replaced the old object once more.
		held := map[string]bool{}
		for _, r := range exportState(t, ctx, stack).Resources {
			held[string(r.URN)] = true
		}
		var imports []optrefresh.PendingCreate
		var dropped, deleted []string
		for _, op := range pending {
			if op.Type != apitype.OperationTypeCreating {
				continue
			}
			id, kind := kubernetesID(op.Resource)
			object := kind + "/" + id[strings.LastIndex(id, "/")+1:]
			switch {
			case id == "" || !kube.exists(object):
				dropped = append(dropped, string(op.Resource.URN))
			case held[string(op.Resource.URN)]:
				if out, err := kube.run("", "delete", object, "--wait=true"); err != nil {
					t.Fatalf("%s: deleting the replacement's %s: %v\n%s", how, object, err, out)
				}
				deleted = append(deleted, object)
				dropped = append(dropped, string(op.Resource.URN))
			default:
				imports = append(imports, optrefresh.PendingCreate{URN: string(op.Resource.URN), ID: id})
			}
		}
		opts := []optrefresh.Option{optrefresh.ClearPendingCreates()}
		if len(imports) > 0 {
			opts = []optrefresh.Option{optrefresh.ImportPendingCreates(imports)}
			if len(dropped) > 0 {
				opts = append(opts, optrefresh.ClearPendingCreates())
			}
		}
		must("refresh", func() error { _, err := stack.Refresh(ctx, opts...); return err })
		if left := pendingOperations(t, ctx, stack); len(left) > 0 {
			t.Errorf("%s: %d pending operations after refresh", how, len(left))
		}
		up, err := stack.Up(ctx)
		if err != nil {
			t.Fatalf("%s: up after the recovery: %v", how, err)
		}
		checkRecovered(t, ctx, stack, kube, how, i)
		t.Logf("%s during the %s: state restored from its .bak: %v; lock left (then removed by recover-interrupted.sh): %v; pending operations %v; the script stopped naming them; imported %d, dropped %d (a replacement's object deleted: %v); then up %v, converged, no orphans",
			how, at, restored, keptLock, describe(pending), len(imports), len(dropped), deleted, up.Summary.ResourceChanges)
	}
}

// checkRecovered: after the recovery the stack has nothing left to do, the
// API server holds nothing the stack does not, and the Deployments run the
// change the interrupted up was making.
func checkRecovered(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, how string, i int) {
	t.Helper()
	if _, err := stack.Preview(ctx, optpreview.ExpectNoChanges()); err != nil {
		t.Errorf("%s: the stack did not converge: %v", how, err)
	}
	if orphans := orphans(t, ctx, stack, kube); len(orphans) > 0 {
		t.Errorf("%s: objects in the API server that the stack does not hold: %v", how, orphans)
	}
	for _, name := range []string{"loadtest-master", "loadtest-worker"} {
		d := kube.deployment(name)
		cm := d.Spec.Template.Spec.VolumeConfigMap("locustfiles")
		if !strings.Contains(kube.configMapData(cm)["bookinfo.py"], fmt.Sprintf("# interrupted up %d", i)) {
			t.Errorf("%s: %s mounts ConfigMap %s, without the change the interrupted up was making", how, name, cm)
		}
	}
}

// describe lists pending operations as "creating name".
func describe(pending []apitype.OperationV2) []string {
	var ops []string
	for _, op := range pending {
		ops = append(ops, fmt.Sprintf("%s %s", op.Type, op.Resource.URN.Name()))
	}
	return ops
}

// recoverScript runs the deploy workflow's recover-interrupted.sh on the
// stack, with the real CLI and a lock older than staleMinutes taken as
// dead: its exit code and output.
func recoverScript(t *testing.T, bin, workDir string, env map[string]string, staleMinutes string) (int, string) {
	t.Helper()
	script, err := filepath.Abs(".github/scripts/recover-interrupted.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, "local")
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "LOCK_STALE_MINUTES="+staleMinutes)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("recover-interrupted.sh: %v\n%s", err, out)
	return 0, ""
}

// killPulumi kills, as the kernel does to a closed laptop's processes, the
// Pulumi CLI the Automation API started (a child of this process; it stays
// in this process group on Linux) and every process below it: its plugins.
func killPulumi() error {
	parents := map[int]int{}
	names := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		fields := strings.Fields(s[end+1:])
		if open < 0 || end < open || len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		parents[pid], names[pid] = ppid, s[open+1:end]
	}
	var cli int
	for pid, ppid := range parents {
		if ppid == os.Getpid() && names[pid] == "pulumi" {
			cli = pid
		}
	}
	if cli == 0 {
		return fmt.Errorf("no pulumi process is a child of this one")
	}
	below := func(pid int) bool {
		for ; pid > 1; pid = parents[pid] {
			if pid == cli {
				return true
			}
		}
		return false
	}
	for pid := range parents {
		if below(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// exportState is the stack's state, as `pulumi stack export` gives it.
func exportState(t *testing.T, ctx context.Context, stack auto.Stack) apitype.DeploymentV3 {
	t.Helper()
	res, err := stack.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var state apitype.DeploymentV3
	if err := json.Unmarshal(res.Deployment, &state); err != nil {
		t.Fatal(err)
	}
	return state
}

// pendingOperations are the operations the state says were running.
func pendingOperations(t *testing.T, ctx context.Context, stack auto.Stack) []apitype.OperationV2 {
	t.Helper()
	return exportState(t, ctx, stack).PendingOperations
}

// kubernetesID is the ID pulumi-kubernetes gives an object, "namespace/name"
// or "name" (provider.go, fqObjName), and its kind for kubectl, from a
// state resource's inputs; empty for anything else.
func kubernetesID(r apitype.ResourceV3) (id, kind string) {
	if !strings.HasPrefix(string(r.Type), "kubernetes:") || strings.HasPrefix(string(r.Type), "kubernetes:index") {
		return "", ""
	}
	meta, _ := r.Inputs["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return "", ""
	}
	kind = strings.ToLower(string(r.Type)[strings.LastIndex(string(r.Type), ":")+1:])
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name, kind
	}
	return name, kind
}

// orphans are objects of ours in the API server that no resource of the
// stack holds.
func orphans(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl) []string {
	t.Helper()
	state := exportState(t, ctx, stack)
	held := map[string]bool{}
	for _, r := range state.Resources {
		if id, kind := kubernetesID(r); id != "" {
			held[kind+"/"+id[strings.LastIndex(id, "/")+1:]] = true
		}
	}
	var out []string
	for _, object := range kube.ours() {
		kind, _, _ := strings.Cut(object, "/")
		// Made by controllers from the Deployments, not by the stack.
		if strings.HasPrefix(kind, "replicaset") || strings.HasPrefix(kind, "pod") {
			continue
		}
		// kubectl names kinds with their API group ("deployment.apps/x").
		short := strings.SplitN(kind, ".", 2)[0] + "/" + object[strings.IndexByte(object, '/')+1:]
		if !held[short] {
			out = append(out, object)
		}
	}
	return out
}
