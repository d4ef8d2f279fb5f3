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
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkInterruptedUpRecovers interrupts an `up` in the middle, as a closed
// laptop or a cancelled CI job would, then recovers the way docs/recovery.md
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
		// A kill while the file backend writes the state's metadata sidecar
		// leaves every read failing ("failed to load checkpoint: EOF";
		// TestStateMetadataCutByAKill): the script mends that itself.
		mended := false
		if _, err := stack.Export(ctx); err != nil {
			if !strings.Contains(err.Error(), "failed to load checkpoint") {
				t.Fatalf("%s: exporting the state after the interruption: %v", how, err)
			}
			_, said := recoverScript(t, bin, workDir, env, "90")
			if !strings.Contains(said, "is cut") {
				t.Fatalf("%s: the state cannot be read (%v), and recover-interrupted.sh did not mend it:\n%s", how, err, said)
			}
			if _, err := stack.Export(ctx); err != nil {
				t.Fatalf("%s: exporting the state after recover-interrupted.sh mended it: %v", how, err)
			}
			mended = true
		}
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
			t.Logf("%s during the %s: state's metadata sidecar mended: %v; lock left (then removed by recover-interrupted.sh): %v; pending operations %v; the script went on; up --refresh %v, converged, no orphans",
				how, at, mended, keptLock, describe(pending), up.Summary.ResourceChanges)
			continue
		}
		// As docs/recovery.md says, with the commands the script printed: import
		// a create of a new resource that happened (its import-command
		// line); a replacement's (its URN still held by the old object in
		// the state) is deleted, as the script names it, and dropped, as is
		// one that did not happen (the clear-command line), and the next up
		// makes the replacement again. Seen once: importing a replacement's
		// object left it orphaned after the up, which replaced the old
		// object once more.
		held := map[string]bool{}
		for _, r := range exportState(t, ctx, stack).Resources {
			held[string(r.URN)] = true
		}
		importLines, clearLine := printedCommands(said)
		var imported, dropped, deleted []string
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
				if !strings.Contains(said, "a replacement.") || !strings.Contains(said, id[strings.LastIndex(id, "/")+1:]) {
					t.Errorf("%s: recover-interrupted.sh did not name %s as a replacement's object to delete:\n%s", how, object, said)
				}
				if out, err := kube.run("", "delete", object, "--wait=true"); err != nil {
					t.Fatalf("%s: deleting the replacement's %s: %v\n%s", how, object, err, out)
				}
				deleted = append(deleted, object)
				dropped = append(dropped, string(op.Resource.URN))
			default:
				line, ok := importLines[id]
				if !ok {
					t.Fatalf("%s: recover-interrupted.sh printed no import-command for %s (ID %s):\n%s", how, op.Resource.URN, id, said)
				}
				runPrinted(t, bin, workDir, env, line)
				imported = append(imported, id)
			}
		}
		if len(dropped) > 0 {
			if clearLine == "" {
				t.Fatalf("%s: recover-interrupted.sh printed no clear-command:\n%s", how, said)
			}
			runPrinted(t, bin, workDir, env, clearLine)
		}
		if left := pendingOperations(t, ctx, stack); len(left) > 0 {
			t.Errorf("%s: %d pending operations after the printed commands", how, len(left))
		}
		up, err := stack.Up(ctx)
		if err != nil {
			t.Fatalf("%s: up after the recovery: %v", how, err)
		}
		checkRecovered(t, ctx, stack, kube, how, i)
		t.Logf("%s during the %s: state's metadata sidecar mended: %v; lock left (then removed by recover-interrupted.sh): %v; pending operations %v; the script stopped naming them; imported with its printed command %v, dropped %d (a replacement's object deleted: %v); then up %v, converged, no orphans",
			how, at, mended, keptLock, describe(pending), imported, len(dropped), deleted, up.Summary.ResourceChanges)
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

// printedCommands are the commands recover-interrupted.sh printed for the
// pending creates: each import-command line by the ID it imports (its last
// word), and the clear-command line.
func printedCommands(said string) (imports map[string]string, clear string) {
	imports = map[string]string{}
	for _, line := range strings.Split(said, "\n") {
		if rest, ok := strings.CutPrefix(line, "import-command: "); ok {
			f := strings.Fields(rest)
			imports[f[len(f)-1]] = rest
		}
		if rest, ok := strings.CutPrefix(line, "clear-command: "); ok {
			clear = rest
		}
	}
	return imports, clear
}

// runPrinted runs a command line recover-interrupted.sh printed, as a user
// pastes it into bash, with the real CLI, in the stack's workspace.
func runPrinted(t *testing.T, bin, workDir string, env map[string]string, line string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the printed command %s: %v\n%s", line, err, out)
	}
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
// Each is stopped (SIGSTOP) before any is killed, so none can start a new
// child between the listing and the kill, nor be re-parented out of sight;
// the listing is repeated until it finds nothing new. It returns once every
// one of them is gone, so that no writer of the state outlives the kill.
func killPulumi() error {
	procs, err := processes()
	if err != nil {
		return err
	}
	var cli int
	for pid, p := range procs {
		if p.ppid == os.Getpid() && p.name == "pulumi" {
			cli = pid
		}
	}
	if cli == 0 {
		return fmt.Errorf("no pulumi process is a child of this one")
	}
	stopped := map[int]bool{}
	for {
		fresh := 0
		for pid := range procs {
			if !stopped[pid] && below(procs, pid, cli) {
				syscall.Kill(pid, syscall.SIGSTOP)
				stopped[pid] = true
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
		if procs, err = processes(); err != nil {
			return err
		}
	}
	for pid := range stopped {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// The CLI is reaped by the Automation API's Wait; its children by
	// init. Until then they are zombies, which hold no file open.
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, err := processes()
		if err != nil {
			return err
		}
		var alive []string
		for pid := range stopped {
			if p, ok := procs[pid]; ok && p.state != "Z" {
				alive = append(alive, fmt.Sprintf("%d (%s, %s)", pid, p.name, p.state))
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still alive 30 s after SIGKILL: %v", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// process is one entry of /proc: its parent, command name and state.
type process struct {
	ppid        int
	name, state string
}

// processes lists /proc.
func processes() (map[int]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]process{}
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
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		procs[pid] = process{ppid: ppid, name: s[open+1 : end], state: fields[0]}
	}
	return procs, nil
}

// below reports whether pid is root or a descendant of it.
func below(procs map[int]process, pid, root int) bool {
	for ; pid > 1; pid = procs[pid].ppid {
		if pid == root {
			return true
		}
	}
	return false
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
