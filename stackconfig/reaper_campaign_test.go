package stackconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// jobRuns reports whether a job whose `if` is cond runs after its needs
// ended with result ("success", "failure" or "cancelled"), by GitHub's rule
// for status-check functions ("Expressions", Status check functions): an
// `if` without one is success() && (...); always() is true even when the
// run is cancelled; success() only when every need succeeded and the run
// is not cancelled; failure() when a need failed; cancelled() when the run
// was cancelled. It reads the forms status checks are written in: one
// function, possibly negated, or two joined by && or ||.
func jobRuns(t *testing.T, cond, result string) bool {
	t.Helper()
	cond = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(cond), "${{"), "}}"))
	status := map[string]bool{
		"always()":    true,
		"success()":   result == "success",
		"failure()":   result == "failure",
		"cancelled()": result == "cancelled",
	}
	term := func(s string) bool {
		s = strings.TrimSpace(s)
		not := strings.HasPrefix(s, "!")
		v, ok := status[strings.TrimSpace(strings.TrimPrefix(s, "!"))]
		if !ok {
			t.Fatalf("the status check %q is not one this test reads", s)
		}
		return v != not
	}
	switch {
	case cond == "":
		return status["success()"]
	case strings.Contains(cond, "||"):
		a, b, _ := strings.Cut(cond, "||")
		return term(a) || term(b)
	case strings.Contains(cond, "&&"):
		a, b, _ := strings.Cut(cond, "&&")
		return term(a) && term(b)
	}
	return term(cond)
}

func TestJobRunsReadsStatusChecks(t *testing.T) {
	for _, tc := range []struct {
		cond, result string
		want         bool
	}{
		{"", "failure", false}, {"", "success", true}, {"${{ always() }}", "cancelled", true},
		{"!cancelled()", "cancelled", false}, {"!cancelled()", "failure", true}, {"success() || failure()", "cancelled", false},
	} {
		if got := jobRuns(t, tc.cond, tc.result); got != tc.want {
			t.Errorf("if %q after %s: %v, want %v", tc.cond, tc.result, got, tc.want)
		}
	}
}

// TestCampaignAlwaysDestroys: the campaign's destroy legs follow its up
// legs and its test job, and run when an up or the test failed and when
// the run was cancelled; only a failed plan, which brought nothing up,
// skips them. Up and destroy run one leg per stack of the same list, each
// leg in its stack's Environment, neither cancelling the others when one
// fails; each destroy leg destroys its own stack. The test job follows
// every up, takes no Pulumi lock, and keeps the results whatever its
// outcome. The whole run holds the deploy group of the dispatched name.
func TestCampaignAlwaysDestroys(t *testing.T) {
	w := readWorkflow(t, "campaign.yml")
	plan, up, test, destroy := w.Jobs["plan"], w.Jobs["up"], w.Jobs["test"], w.Jobs["destroy"]
	for _, need := range []string{"plan", "up", "test"} {
		if !slices.Contains(destroy.needs(), need) {
			t.Errorf("the destroy job needs %v; want it after the %s job", destroy.needs(), need)
		}
	}
	// The plan's own result is a comparison jobRuns does not read.
	const planDone = " && needs.plan.result == 'success' }}"
	status, ok := strings.CutSuffix(destroy.If, planDone)
	if !ok {
		t.Fatalf("the destroy job runs if %q; want a status check joined with %q", destroy.If, planDone)
	}
	for _, result := range []string{"success", "failure", "cancelled"} {
		if !jobRuns(t, status+" }}", result) {
			t.Errorf("after an up or test that ended %s, the destroy job (if %q) does not run", result, destroy.If)
		}
	}
	const list = "${{ fromJSON(needs.plan.outputs.stacks) }}"
	for name, j := range map[string]job{"up": up, "destroy": destroy} {
		if j.Strategy.Matrix.Stack != list || j.Strategy.FailFast != false || j.Environment != "${{ matrix.stack }}" || j.Env["STACK"] != "${{ matrix.stack }}" {
			t.Errorf("the %s job: matrix %q, fail-fast %v, environment %q, STACK %q; want one leg per stack of %s, none cancelled by another's failure, each in its stack's Environment",
				name, j.Strategy.Matrix.Stack, j.Strategy.FailFast, j.Environment, j.Env["STACK"], list)
		}
	}
	if plan.Outputs["stacks"] != "${{ steps.plan.outputs.stacks }}" || !slices.Contains(up.needs(), "plan") {
		t.Errorf("plan outputs %v, up needs %v; want the up legs from the plan's list", plan.Outputs, up.needs())
	}
	destroys := false
	for _, s := range destroy.Steps {
		if s.With["command"] == "destroy" {
			destroys = s.With["stack-name"] == "${{ matrix.stack }}"
		}
		// The destroy itself is skipped only for a stack the backend does
		// not hold (TestCampaignDestroySkipsAStackNeverCreated).
		if s.If != "" && s.If != "github.ref != 'refs/heads/main'" && (s.ID != "destroy" || s.If != "steps.check.outputs.exists != 'false'") {
			t.Errorf("destroy job step %q runs only if %q: a failed test must not skip it", s.Uses+s.Run, s.If)
		}
	}
	if !destroys {
		t.Error("the destroy job runs no pulumi destroy of its leg's stack")
	}
	var ups, keeps bool
	for _, s := range up.Steps {
		ups = ups || s.With["command"] == "up"
	}
	for _, s := range test.Steps {
		keeps = keeps || (strings.HasPrefix(s.Uses, "actions/upload-artifact@") && s.If == "always()")
		if strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] != "" {
			t.Errorf("the test job runs pulumi %s: it would hold the stack's lock", s.With["command"])
		}
	}
	if !ups || !keeps || !slices.Contains(test.needs(), "up") {
		t.Errorf("up legs run up %v; the test job needs %v, keeps the results always %v; want the test after every up, its results kept", ups, test.needs(), keeps)
	}
	if w.Concurrency.Group != "pulumi-deploy-${{ inputs.stack }}" || w.Concurrency.CancelInProgress != false {
		t.Errorf("campaign concurrency %+v; want the deploy group of the dispatched name for the whole run, not cancelling", w.Concurrency)
	}
}

// TestReaperListsStacksWithATimeToLive runs the reaper workflow's listing
// step on stack files with and without ttlHours: only stacks whose file
// sets it get a reap job, so a stack without an expiry is never touched,
// and the step covers every AWS stack file.
func TestReaperListsStacksWithATimeToLive(t *testing.T) {
	w := readWorkflow(t, "reaper.yml")
	var script string
	for _, s := range w.Jobs["stacks"].Steps {
		if s.ID == "list" {
			script = s.Run
		}
	}
	loop := regexp.MustCompile(`for stack in ([a-z0-9 -]+); do`).FindStringSubmatch(script)
	if loop == nil || !slices.Equal(strings.Fields(loop[1]), awsStacks(t)) {
		t.Fatalf("the listing step loops over %v; want the AWS stack files %v", loop, awsStacks(t))
	}
	reap := w.Jobs["reap"]
	// Its own group: TestReaperAsksReviewersOnlyForExpiredStacks.
	if !slices.Contains(reap.needs(), "stacks") || reap.Concurrency.Group != "pulumi-reap-${{ matrix.stack }}" || reap.Environment != "${{ matrix.stack }}" {
		t.Errorf("reap job: needs %v, concurrency %q, environment %q", reap.needs(), reap.Concurrency.Group, reap.Environment)
	}

	dir := t.TempDir()
	stackvalue := filepath.Join(dir, "stackvalue")
	if out, err := exec.Command("go", "build", "-o", stackvalue, "../cmd/stackvalue").CombinedOutput(); err != nil {
		t.Fatalf("building cmd/stackvalue: %v\n%s", err, out)
	}
	// A stand-in `go` on PATH: the step's `go run ./cmd/stackvalue ARGS`
	// runs the built command with ARGS.
	fakeGo := "#!/bin/sh\n[ \"$1\" = run ] && [ \"$2\" = ./cmd/stackvalue ] || exit 99\nshift 2\nexec " + stackvalue + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ttl  map[string]string // stack -> ttlHours line added to its file
		want string
	}{
		{nil, "stacks=[]"},
		{map[string]string{"dev": "8"}, `stacks=["dev"]`},
		{map[string]string{"dev": "8", "prod": "0.5"}, `stacks=["dev","prod"]`},
	} {
		work := t.TempDir()
		for _, stack := range awsStacks(t) {
			b, err := os.ReadFile(filepath.Join(projectDir, "Pulumi."+stack+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if ttl, ok := tc.ttl[stack]; ok {
				b = append(b, []byte("  locust-eks:ttlHours: \""+ttl+"\"\n")...)
			}
			if err := os.WriteFile(filepath.Join(work, "Pulumi."+stack+".yaml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		output := filepath.Join(work, "github-output")
		cmd := exec.Command("bash", "-eo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_OUTPUT="+output)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the listing step: %v\n%s", err, out)
		}
		got, _ := os.ReadFile(output)
		if strings.TrimSpace(string(got)) != tc.want {
			t.Errorf("ttlHours in %v: the step wrote %q, want %q", tc.ttl, strings.TrimSpace(string(got)), tc.want)
		}
	}
}
