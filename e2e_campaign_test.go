package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"
)

// How the GitHub runner cancels a step (actions/runner
// src/Runner.Sdk/ProcessInvoker.cs, CancelAndKillProcessTree): SIGINT to the
// step's process alone (kill(pid), not its group), up to 7.5 s for it to
// exit; then SIGTERM, up to 2.5 s; then SIGKILL of that process
// (Process.Kill, not its tree). What the step started and left running is
// killed at the job's end (src/Runner.Worker/JobExtension.cs, "Terminate
// orphan process"): SIGKILL of every process whose environment carries the
// job's RUNNER_TRACKING_ID.
const (
	runnerSIGINTWait  = 7500 * time.Millisecond
	runnerSIGTERMWait = 2500 * time.Millisecond
	runnerTrackingVar = "RUNNER_TRACKING_ID"
	// jobEndAfterCancel is how long the CLI outlives its cancelled step
	// before the runner's orphan cleanup kills it: a lower bound, the
	// harder case for the clean-up. On a runner it is longer: the step
	// ends only after its output pipes close or 5 s pass
	// (ProcessInvoker.cs, ProcessExitedHandler), then the job's always()
	// steps and its actions' post steps run before FinalizeJob's kill.
	jobEndAfterCancel = time.Second
)

// checkCancelledCampaign runs what a cancelled campaign meets
// (.github/workflows/campaign.yml), on the stack that step 6 destroys:
//
//   - the run cancelled during the test job's load test: cmd/loadtest,
//     mid-run, cancelled the runner's way;
//   - the stack's destroy leg, which runs after a cancelled test job (if:
//     always()), itself cancelled (its timeout, or a second cancel) while
//     `pulumi destroy` deletes;
//   - the destroy job run again;
//   - a campaign cancelled during its up, then its destroy job
//     (checkCancelledUp).
//
// Each destroy job runs the workflow's own run: scripts, read from
// campaign.yml, with the real CLI and recover-interrupted.sh; the
// pulumi/actions destroy step runs the CLI command that action runs. It
// logs what each cancel left before the next job, and fails unless the
// re-run succeeds with no lock and no pending operation left (the caller
// checks the API server and the state's resources), or, where it fails,
// names what is left.
func checkCancelledCampaign(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, timings *timingTable,
	bin, workDir, backendDir string, env map[string]string, kubeconfig string,
) {
	t.Helper()
	jobs := readDestroyJob(t)
	// The workflow's scripts run from the checkout: its .github beside the
	// stack's workspace, whose Pulumi.yaml the recovery script reads.
	github, err := filepath.Abs(".github")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(github, filepath.Join(workDir, ".github")); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
	stepEnv := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "STACK=local")
	for k, v := range env {
		stepEnv = append(stepEnv, k+"="+v)
	}
	// The up leg's runner exports its host name for the destroy leg's
	// --dead-host; here every job runs on this machine.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	stop := timings.start("cancelled campaign: load test cancelled mid-run")
	cancelLoadTest(t, kube, bin, workDir, stepEnv)
	stop()
	t.Logf("after the cancelled load test: %s", leftBehind(t, ctx, stack, kube, backendDir))

	stop = timings.start("cancelled campaign: destroy job cancelled while deleting")
	attempt := runDestroyJob(t, jobs, bin, workDir, stepEnv, host, true)
	stop()
	left := leftBehind(t, ctx, stack, kube, backendDir)
	t.Logf("destroy job cancelled during `pulumi destroy` (%s); left: %s\n%s", attempt.cancelled, left, attempt.log)

	stop = timings.start("cancelled campaign: destroy job run again")
	rerun := runDestroyJob(t, jobs, bin, workDir, stepEnv, host, false)
	stop()
	checkDestroyJobCleaned(t, ctx, stack, backendDir, "run again after a cancelled one", rerun)

	checkCancelledUp(t, ctx, stack, kube, timings, jobs, bin, workDir, backendDir, stepEnv, host)
}

// checkDestroyJobCleaned fails unless the destroy job (after what) ended
// with exit 0, its last step saying the destroy left nothing, and no lock
// and no pending operation left; where the job failed, it must name each
// lock and resource left.
func checkDestroyJobCleaned(t *testing.T, ctx context.Context, stack auto.Stack, backendDir, after string, res destroyJobResult) {
	t.Helper()
	if res.exit != 0 {
		// It could not clean up: it must say what is left.
		for _, what := range leftList(t, ctx, stack, backendDir) {
			if !strings.Contains(res.log, what) {
				t.Errorf("the destroy job failed without naming %s:\n%s", what, res.log)
			}
		}
		t.Fatalf("the destroy job, %s, failed (exit %d), where it should clean up:\n%s", after, res.exit, res.log)
	}
	if !strings.Contains(res.log, "the destroy left nothing in the state") {
		t.Errorf("the destroy job succeeded without its last step saying it left nothing:\n%s", res.log)
	}
	if locks := lockFiles(t, backendDir); len(locks) > 0 {
		t.Errorf("locks left after the destroy job: %v", locks)
	}
	if pending := pendingOperations(t, ctx, stack); len(pending) > 0 {
		t.Errorf("pending operations left after the destroy job: %v", describe(pending))
	}
	t.Logf("destroy job %s: exit 0\n%s", after, res.log)
}

// cancelLoadTest starts the load-test step's command, cmd/loadtest --stack
// local, against real Locust processes as checkLoadTest does, and cancels it
// the runner's way once the swarm runs. The step's script execs the
// command, so the runner's signals reach it directly.
func cancelLoadTest(t *testing.T, kube *kubectl, bin, workDir string, stepEnv []string) {
	t.Helper()
	have, lacking := locusttest.Versions()
	if len(have) == 0 {
		t.Fatalf("no Locust to run the load test with: %v", lacking)
	}
	l := have[0]
	command := loadTestCommand(t)
	master, worker := kube.deployment("loadtest-master"), kube.deployment("loadtest-worker")
	mounted := locusttest.Mount(t, kube.configMapData(master.Spec.Template.Spec.VolumeConfigMap("locustfiles")))
	pod := strings.TrimSpace(string(must(kube.run("", "get", "pods", "-l", "app.kubernetes.io/component=master", "-o", "jsonpath={.items[0].metadata.name}"))))
	target := httptest.NewServer(fakeapps.Record(&fakeapps.BookinfoProductPage{}))
	defer target.Close()
	masterArgv, masterEnv, workerArgv, workerEnv, _ := localizeStack(t, kube, l, master, worker, mounted, pod)
	locusts := []*locusttest.Process{locusttest.Start(t, l, "cancelled-master", append(masterArgv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), masterEnv)}
	for i := range worker.Spec.Replicas {
		locusts = append(locusts, locusttest.Start(t, l, fmt.Sprintf("cancelled-worker-%d", i+1), workerArgv, workerEnv))
	}
	defer func() {
		for _, p := range locusts {
			p.Cmd.Process.Kill()
		}
	}()

	step := startJobStep(t, "test", workDir, stepEnv, command, "--stack", "local", "--host", target.URL, "--users", "4", "--spawn-rate", "4",
		"--run-time", "10m", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir())
	step.waitFor(t, "the swarm running", 90*time.Second, func(out string) bool {
		_, after, ok := strings.Cut(out, "swarm started")
		return ok && strings.Contains(after, "progress: ")
	})
	endedBy := cancelRunStep(step)
	endJob(t, "test")
	out := step.output()
	if endedBy != "SIGINT" || step.exitCode() != 3 || !strings.Contains(out, "the swarm is stopped") || !strings.Contains(out, "verdict: INTERRUPTED") {
		t.Errorf("cmd/loadtest cancelled the runner's way: ended by %s, exit %d; want it to stop the swarm on SIGINT and exit 3 (interrupted) within %s:\n%s",
			endedBy, step.exitCode(), runnerSIGINTWait, out)
	}
	t.Logf("cmd/loadtest cancelled mid-run, as the runner does: ended by %s within %s, exit %d, the swarm stopped, partial results saved", endedBy, runnerSIGINTWait, step.exitCode())
}

// destroyJobResult is what one run of campaign.yml's destroy job gave: its
// steps' output, the job's exit code (that of its last step), and, when it
// was cancelled, how.
type destroyJobResult struct {
	log       string
	exit      int
	cancelled string
}

// runDestroyJob runs the destroy job's steps in order, as campaign.yml
// has them: the lock check (continue-on-error), pulumi/actions' destroy
// (continue-on-error), and the step that lists what the destroy left and
// fails the job. With cancel, the job is cancelled once the destroy has
// started deleting: the destroy step is stopped the runner's way, the last
// step (no if: always()) does not run, and the job's end kills what is left.
func runDestroyJob(t *testing.T, steps destroyJobSteps, bin, workDir string, stepEnv []string, upHost string, cancel bool) destroyJobResult {
	t.Helper()
	var res destroyJobResult
	var log strings.Builder
	run := func(name, script string, env ...string) int {
		s := startJobStep(t, "destroy", workDir, append(slices.Clone(stepEnv), env...), "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		code := s.wait(10 * time.Minute)
		fmt.Fprintf(&log, "--- %s: exit %d\n%s", name, code, s.output())
		return code
	}
	outcome := map[bool]string{true: "success", false: "failure"}
	// The check step's outputs file, as the runner gives each step one of
	// its own ($GITHUB_OUTPUT, "key=value" lines: docs.github.com,
	// "Workflow commands", Setting an output parameter); never the one of
	// a CI job this test may run in.
	output := filepath.Join(t.TempDir(), "github_output")
	check := run("lock check", steps.check, "UP_HOST="+upHost, "GITHUB_OUTPUT="+output)
	outputs := map[string]string{}
	written, err := os.ReadFile(output)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(written), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			outputs[k] = v
		}
	}
	// The destroy step's if: skipped on exists false alone. This test's
	// stack exists through every destroy job it runs, so a check that
	// says otherwise is wrong; one that could not tell (exists unset)
	// leaves the destroy to run.
	if outputs["exists"] == "false" {
		t.Fatalf("the lock check (exit %d) set exists=false, which skips the destroy, for a stack that exists:\n%s", check, log.String())
	}
	if check == 0 && outputs["exists"] != "true" {
		t.Errorf("the lock check succeeded without setting exists=true (outputs %v):\n%s", outputs, log.String())
	}

	// pulumi/actions' destroy runs, through the Automation API for Node,
	// the CLI (sdk/nodejs/automation: LocalWorkspace destroy, cmd.ts). Its
	// step's if (readDestroyJob) skips it only on exists false.
	destroy := startJobStep(t, "destroy", workDir, stepEnv, filepath.Join(bin, "pulumi"), "destroy", "--yes", "--skip-preview", "--non-interactive", "--stack", "local")
	if cancel {
		destroy.waitFor(t, "pulumi destroy deleting", 2*time.Minute, func(out string) bool { return strings.Contains(out, " deleting") })
		res.cancelled = cancelActionStep(destroy)
		endJob(t, "destroy")
		fmt.Fprintf(&log, "--- destroy (cancelled: %s): exit %d\n%s", res.cancelled, destroy.exitCode(), destroy.output())
		res.log, res.exit = log.String(), 1
		return res
	}
	destroyed := destroy.wait(10 * time.Minute)
	fmt.Fprintf(&log, "--- destroy: exit %d\n%s", destroyed, destroy.output())
	res.exit = run("what the destroy left", steps.left, "CHECK="+outcome[check == 0], "DESTROY="+outcome[destroyed == 0], "EXISTS="+outputs["exists"])
	res.log = log.String()
	return res
}

// destroyJobSteps are the run: scripts of campaign.yml's destroy job that
// the end-to-end test runs as they are.
type destroyJobSteps struct{ check, left string }

// readDestroyJob reads them from the workflow, so that the test runs what
// the workflow runs.
func readDestroyJob(t *testing.T) destroyJobSteps {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string `yaml:"id"`
				If   string `yaml:"if"`
				Name string `yaml:"name"`
				Uses string `yaml:"uses"`
				Run  string `yaml:"run"`
				With map[string]string
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(must(os.ReadFile(".github/workflows/campaign.yml")), &wf); err != nil {
		t.Fatal(err)
	}
	var steps destroyJobSteps
	var destroy bool
	for _, s := range wf.Jobs["destroy"].Steps {
		switch {
		case s.ID == "check":
			steps.check = s.Run
		case s.ID == "destroy" && strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] == "destroy":
			// runDestroyJob runs it unless the check said exists=false.
			destroy = s.If == "steps.check.outputs.exists != 'false'"
		case strings.Contains(s.Run, "--after-destroy"):
			steps.left = s.Run
		}
	}
	if steps.check == "" || !destroy || steps.left == "" {
		t.Fatalf("campaign.yml's destroy job lacks the lock check (id check), the pulumi/actions destroy (id destroy, if steps.check.outputs.exists != 'false') or the --after-destroy step that this test runs: %+v", steps)
	}
	return steps
}

// leftBehind describes the locks, pending operations and objects of ours.
func leftBehind(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, backendDir string) string {
	t.Helper()
	state := "the state cannot be read"
	// A kill can cut the file backend's state metadata, which the lock
	// check mends (recover-interrupted.sh, cut_sidecar): say so, not fail.
	if res, err := stack.Export(ctx); err != nil {
		state += ": " + err.Error()
	} else {
		var d apitype.DeploymentV3
		if err := json.Unmarshal(res.Deployment, &d); err != nil {
			t.Fatal(err)
		}
		state = fmt.Sprintf("pending operations %v; %d resources in the state", describe(d.PendingOperations), len(d.Resources))
	}
	return fmt.Sprintf("locks %v; %s; objects of ours in the API server %v", lockFiles(t, backendDir), state, kube.ours())
}

// leftList names what a failed destroy job must name: each lock file and
// each resource left in the state (by URN) but the stack itself.
func leftList(t *testing.T, ctx context.Context, stack auto.Stack, backendDir string) []string {
	t.Helper()
	var left []string
	for _, l := range lockFiles(t, backendDir) {
		left = append(left, filepath.Base(l))
	}
	for _, r := range exportState(t, ctx, stack).Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			left = append(left, string(r.URN))
		}
	}
	return left
}

// lockFiles are the stack's lock files in the file backend (pulumi
// pkg/backend/diy/lock.go).
func lockFiles(t *testing.T, backendDir string) []string {
	t.Helper()
	locks, err := filepath.Glob(filepath.Join(backendDir, ".pulumi", "locks", "*", "*", "local", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := filepath.Glob(filepath.Join(backendDir, ".pulumi", "locks", "local", "*.json"))
	return append(locks, legacy...)
}

// jobStep is one step's process, started as the runner starts it: with the
// job's RUNNER_TRACKING_ID in its environment, which every process it
// starts inherits.
type jobStep struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startJobStep starts argv as a step of job.
func startJobStep(t *testing.T, job, dir string, env []string, argv ...string) *jobStep {
	t.Helper()
	s := &jobStep{cmd: exec.Command(argv[0], argv[1:]...), out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd.Dir = dir
	s.cmd.Env = append(slices.Clone(env), runnerTrackingVar+"="+trackingID(job))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	return s
}

// trackingID is the job's RUNNER_TRACKING_ID, unique to this test process.
func trackingID(job string) string {
	return fmt.Sprintf("locust-eks-e2e-%d-%s", os.Getpid(), job)
}

func (s *jobStep) output() string { return s.out.String() }

// exitCode is the step process's exit code, -1 when a signal ended it.
func (s *jobStep) exitCode() int { return s.cmd.ProcessState.ExitCode() }

// exited reports whether the step's process ended within d.
func (s *jobStep) exited(d time.Duration) bool {
	select {
	case <-s.done:
		return true
	case <-time.After(d):
		return false
	}
}

// ended reports whether the step's process has ended.
func (s *jobStep) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits for the step to end by itself.
func (s *jobStep) wait(d time.Duration) int {
	if !s.exited(d) {
		s.cmd.Process.Kill()
		<-s.done
	}
	return s.exitCode()
}

// waitFor waits until the step's output satisfies cond.
func (s *jobStep) waitFor(t *testing.T, what string, timeout time.Duration, cond func(out string) bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(s.output()); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) || s.ended() && !cond(s.output()) {
			s.cmd.Process.Kill()
			<-s.done
			t.Fatalf("waiting for %s: the step ended or %s passed:\n%s", what, timeout, s.output())
		}
	}
}

// cancelRunStep cancels a step whose process is the command itself (a run:
// script that execs it), as the runner does: the signal that ended it.
func cancelRunStep(s *jobStep) string {
	s.cmd.Process.Signal(syscall.SIGINT)
	if s.exited(runnerSIGINTWait) {
		return "SIGINT"
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if s.exited(runnerSIGTERMWait) {
		return "SIGTERM"
	}
	s.cmd.Process.Kill()
	<-s.done
	return "SIGKILL"
}

// cancelActionStep cancels a pulumi/actions step. Its process is Node,
// which has no SIGINT handler of its own: execa's cleanup (signal-exit)
// sends the CLI SIGTERM, and Node dies of the SIGINT at once, so the
// runner sends nothing more. The CLI, which takes a first SIGTERM as a
// cancel (pulumi pkg/backend/cancellation_scope.go), runs on until the
// job's end.
func cancelActionStep(s *jobStep) string {
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(jobEndAfterCancel)
	if s.exited(0) {
		return fmt.Sprintf("SIGTERM to the CLI, which ended within %s", jobEndAfterCancel)
	}
	return fmt.Sprintf("SIGTERM to the CLI, still running %s later at the job's end", jobEndAfterCancel)
}

// endJob is the runner's orphan cleanup at the job's end: SIGKILL of every
// process that carries the job's tracking ID. It returns once none is
// alive, so that no writer of the state outlives the job.
func endJob(t *testing.T, job string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var alive []string
		for pid, p := range jobProcesses(t, job) {
			syscall.Kill(pid, syscall.SIGKILL)
			alive = append(alive, fmt.Sprintf("%d (%s)", pid, p.name))
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still alive 30 s after the job's end: %v", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobProcesses are the live processes (zombies aside) whose environment
// carries job's tracking ID, as the runner finds a job's orphans.
func jobProcesses(t *testing.T, job string) map[int]process {
	t.Helper()
	marker := []byte(runnerTrackingVar + "=" + trackingID(job) + "\x00")
	procs, err := processes()
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]process{}
	for pid, p := range procs {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && p.state != "Z" && bytes.Contains(environ, marker) {
			found[pid] = p
		}
	}
	return found
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
