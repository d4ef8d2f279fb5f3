package stackconfig

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/campaign"
)

// campaignStep is the step of job in campaign.yml whose id is id, or whose
// run: holds text when id is "".
func campaignStep(t *testing.T, job, id, text string) step {
	t.Helper()
	for _, s := range readWorkflow(t, "campaign.yml").Jobs[job].Steps {
		if (id != "" && s.ID == id) || (id == "" && text != "" && strings.Contains(s.Run, text)) {
			return s
		}
	}
	t.Fatalf("campaign.yml's %s job has no step %q %q", job, id, text)
	return step{}
}

// TestCampaignPlanStep runs the plan job's step as the runner runs a
// `shell: bash` step (bash --noprofile --norc -eo pipefail: GitHub's
// workflow syntax, jobs.<job_id>.steps[*].shell), with cmd/campaignplan
// built for its `go run`: a set gives its stacks in its file's order, the
// first and its file; one stack gives itself alone and no file. A stack of
// a set alone, an unknown name and a set above internal/campaign.MaxStacks
// stop the run there, with no list for the matrices.
func TestCampaignPlanStep(t *testing.T) {
	s := campaignStep(t, "plan", "plan", "")
	if s.Shell != "bash" || s.Env["NAME"] != "${{ inputs.stack }}" {
		t.Fatalf("the plan step: shell %q, NAME %q; want bash and the dispatched name", s.Shell, s.Env["NAME"])
	}
	if out := readWorkflow(t, "campaign.yml").Jobs["plan"].Outputs; out["first"] != "${{ steps.plan.outputs.first }}" || out["campaign"] != "${{ steps.plan.outputs.campaign }}" {
		t.Errorf("the plan job's outputs %v; want the step's first and campaign", out)
	}
	dir := t.TempDir()
	plan := filepath.Join(dir, "campaignplan")
	if out, err := exec.Command("go", "build", "-o", plan, "../cmd/campaignplan").CombinedOutput(); err != nil {
		t.Fatalf("building cmd/campaignplan: %v\n%s", err, out)
	}
	fakeGo := "#!/bin/sh\n[ \"$1\" = run ] && [ \"$2\" = ./cmd/campaignplan ] || exit 99\nshift 2\nexec " + plan + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	// A project with a set one stack too large.
	big := t.TempDir()
	if err := os.Mkdir(filepath.Join(big, campaign.Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	set := "stacks:\n"
	for i := range campaign.MaxStacks + 1 {
		name := "s" + string(rune('a'+i))
		set += "  - stack: " + name + "\n"
		if err := os.WriteFile(filepath.Join(big, "Pulumi."+name+".yaml"), []byte("config: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(big, campaign.Dir, "big.yaml"), []byte(set), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		project, name string
		want          string // the outputs; "" when the step must fail
		said          string // in the step's log
	}{
		{projectDir, "dev-regions", "stacks=[\"dev-use1\",\"dev-euw1\"]\nfirst=dev-use1\ncampaign=campaigns/dev-regions.yaml", "dev-regions: dev-use1, dev-euw1"},
		{projectDir, "dev", "stacks=[\"dev\"]\nfirst=dev\ncampaign=", "dev: dev"},
		{projectDir, "prod", "stacks=[\"prod\"]\nfirst=prod\ncampaign=", "prod: prod"},
		{projectDir, "dev-use1", "", "stack dev-use1 belongs to the set dev-regions"},
		{projectDir, "staging", "", "staging is neither a stack"},
		{big, "big", "", "got 9 stacks; at most 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			output := filepath.Join(t.TempDir(), "output")
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
			cmd.Dir = tc.project
			cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_OUTPUT="+output, "NAME="+tc.name)
			out, err := cmd.CombinedOutput()
			got, _ := os.ReadFile(output)
			if (err == nil) != (tc.want != "") || strings.TrimSpace(string(got)) != tc.want || !strings.Contains(string(out), tc.said) {
				t.Errorf("the plan step for %s: %v, outputs %q; want outputs %q (none: the step fails), %q in its log:\n%s", tc.name, err, got, tc.want, tc.said, out)
			}
		})
	}
}

// TestCampaignTestJobRunsTheSet runs the test job's load-test step with a
// stand-in for the built command that prints its arguments: a set is run
// from its campaign file, one stack by its name, and the users and run
// time only when given. Its credentials are in the first stack's region,
// whose results bucket the command writes to.
func TestCampaignTestJobRunsTheSet(t *testing.T) {
	w := readWorkflow(t, "campaign.yml")
	test := w.Jobs["test"]
	if test.Environment != "${{ inputs.stack }}" || test.Env["STACK"] != "${{ inputs.stack }}" || !slices.Contains(test.needs(), "plan") {
		t.Errorf("the test job: environment %q, STACK %q, needs %v; want the dispatched name's, after the plan", test.Environment, test.Env["STACK"], test.needs())
	}
	setup := false
	for _, s := range test.Steps {
		if s.Uses == "./.github/actions/pulumi-setup" {
			setup = s.With["stack"] == "${{ needs.plan.outputs.first }}"
		}
	}
	if !setup {
		t.Error("the test job's pulumi-setup is not for the plan's first stack (its region, its results bucket)")
	}
	s := campaignStep(t, "test", "", `exec "$RUNNER_TEMP/loadtest"`)
	if s.Env["CAMPAIGN"] != "${{ needs.plan.outputs.campaign }}" {
		t.Fatalf("the load-test step's CAMPAIGN is %q; want the plan's campaign file", s.Env["CAMPAIGN"])
	}
	temp := t.TempDir()
	if err := os.WriteFile(filepath.Join(temp, "loadtest"), []byte("#!/bin/sh\necho \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stack, campaign, users, duration string
		want                             string
	}{
		{"dev-regions", "campaigns/dev-regions.yaml", "", "", "--campaign campaigns/dev-regions.yaml"},
		{"dev-regions", "campaigns/dev-regions.yaml", "1000", "30m", "--campaign campaigns/dev-regions.yaml --users 1000 --run-time 30m"},
		{"dev", "", "", "", "--stack dev"},
		{"prod", "", "50", "", "--stack prod --users 50"},
	} {
		cmd := exec.Command("bash", "-e", "-c", s.Run)
		cmd.Env = append(os.Environ(), "RUNNER_TEMP="+temp, "STACK="+tc.stack, "CAMPAIGN="+tc.campaign, "USERS="+tc.users, "DURATION="+tc.duration)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("the load-test step for %s (campaign %q, users %q, duration %q): %v, ran loadtest %q; want %q", tc.stack, tc.campaign, tc.users, tc.duration, err, out, tc.want)
		}
	}
}

// TestSetStacksRunWithTheirSetAlone: campaign.yml runs a set in the
// concurrency group of the set's name, which cannot also be each stack's
// pulumi-deploy-<stack>. So every campaign file is valid and a stack
// belongs to one set at most, and no campaign is named like a stack
// (internal/campaign.All); a set's stacks are AWS stacks; and none is
// deployed by deploy.yml, previewed by preview.yml, offered by
// loadtest.yml or offered alone by campaign.yml, each of which holds or
// runs in that stack's own group. campaign.yml offers every stack of no
// set and every set.
func TestSetStacksRunWithTheirSetAlone(t *testing.T) {
	sets, err := campaign.All(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) == 0 {
		t.Fatal("no campaign file: campaigns/dev-regions.yaml is the shipped example")
	}
	aws := awsStacks(t)
	var names []string
	for _, c := range sets {
		names = append(names, c.Name)
		for _, s := range c.Names() {
			if !slices.Contains(aws, s) {
				t.Errorf("%s: stack %s is not on EKS (clusterMode eks): campaign.yml brings a set's stacks up on AWS", c.File, s)
			}
		}
	}
	members := setStacks(t)
	var deployed, previewed []string
	for _, j := range readWorkflow(t, "deploy.yml").Jobs {
		deployed = append(deployed, strings.TrimPrefix(j.Concurrency.Group, "pulumi-deploy-"))
		for _, s := range j.Steps {
			deployed = append(deployed, s.With["stack-name"], s.With["stack"])
		}
	}
	for _, e := range readWorkflow(t, "preview.yml").Jobs["preview"].Strategy.Matrix.Include {
		previewed = append(previewed, e["stack"])
	}
	w := readWorkflow(t, "campaign.yml")
	offered := w.On.WorkflowDispatch.Inputs["stack"].Options
	for s, set := range members {
		for what, list := range map[string][]string{
			"deploy.yml deploys it":        deployed,
			"preview.yml previews it":      previewed,
			"loadtest.yml offers it":       readWorkflow(t, "loadtest.yml").On.WorkflowDispatch.Inputs["stack"].Options,
			"campaign.yml offers it alone": offered,
		} {
			if slices.Contains(list, s) {
				t.Errorf("stack %s of the set %s: %s, in a concurrency group other than the set's pulumi-deploy-%s", s, set, what, set)
			}
		}
	}
	want := append(aloneStacks(t), names...)
	slices.Sort(want)
	got := slices.Sorted(slices.Values(offered))
	if !slices.Equal(got, want) {
		t.Errorf("campaign.yml offers %v; want every AWS stack of no set and every set, %v", got, want)
	}
}

// TestCampaignDestroySkipsAStackNeverCreated runs a destroy leg's steps as
// the runner would, against a stand-in Pulumi CLI: the check step with
// its $GITHUB_OUTPUT, the destroy step's `if` on that output, and the
// last step with the outcomes. A new set's stack whose up leg ended before
// pulumi/actions created it is not on the backend; the destroy would fail
// on it (pulumi/actions@v7.0.0 src/main.ts:75-77: without upsert,
// LocalWorkspace.selectStack, which fails on a missing stack), and the
// leg ended red, "may still bill" (review 30, finding 5). Now the check
// says exists=false, the destroy is skipped and the leg passes, saying
// nothing was created. A check that fails before it can tell leaves the
// output unset, and the destroy runs.
func TestCampaignDestroySkipsAStackNeverCreated(t *testing.T) {
	check := campaignStep(t, "destroy", "check", "")
	destroy := campaignStep(t, "destroy", "destroy", "")
	last := campaignStep(t, "destroy", "", "recover-interrupted.sh --after-destroy")
	// The only form of the destroy's condition this test reads: without a
	// status function it is success() && (...), as for the steps around it
	// ("Expressions", Status check functions), and an unset output is ''.
	cond := regexp.MustCompile(`^steps\.check\.outputs\.exists != 'false'$`)
	if !cond.MatchString(destroy.If) || last.Env["EXISTS"] != "${{ steps.check.outputs.exists }}" ||
		last.Env["DESTROY"] != "${{ steps.destroy.outcome }}" || last.Env["CHECK"] != "${{ steps.check.outcome }}" {
		t.Fatalf("the destroy step runs if %q, the last step's env is %v; want the destroy skipped on exists == 'false' alone, and the last step given the check's exists and both outcomes", destroy.If, last.Env)
	}
	for _, tc := range []struct {
		name string
		// exportErr: what `pulumi stack export` says, exit 1, as the
		// CLI reports an error ("error: " and the message: pulumi/pulumi@1b59498
		// sdk/go/common/util/cmdutil/exit.go); "" exports an empty state.
		exportErr  string
		wantExists string
		wantRun    bool // the destroy step runs
		wantCode   int  // the last step's
		wantSaid   string
	}{
		{"never created", "error: no stack named 'dev' found", "false", false, 0, "this run created nothing of it"},
		{"created, then destroyed", "", "true", true, 0, "the destroy left nothing in the state"},
		{"the check cannot read the state", "error: failed to load checkpoint: open dev.json: permission denied", "", true, 1, "may still bill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fakePulumi(t, dir)
			if tc.exportErr != "" {
				os.WriteFile(filepath.Join(dir, "export.err"), []byte(tc.exportErr+"\n"), 0o644)
			}
			os.WriteFile(filepath.Join(dir, "state.json"), []byte(exportedState("", "")), 0o644)
			output := filepath.Join(dir, "output")
			env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
				"PULUMI_BACKEND_URL=file://"+filepath.Join(dir, "state"), "STACK=dev", "GITHUB_RUN_ID=4242", "GITHUB_OUTPUT="+output)
			step := func(script string, env ...string) (int, string) { return runStep(t, projectDir, script, env) }
			checked, said := step(check.Run, append(env, "UP_HOST=fv-az42-7")...)
			written, _ := os.ReadFile(output)
			outputs := map[string]string{}
			for _, line := range strings.Fields(string(written)) {
				k, v, _ := strings.Cut(line, "=")
				outputs[k] = v
			}
			if outputs["exists"] != tc.wantExists {
				t.Errorf("the check step (exit %d) sets exists %q; want %q:\n%s", checked, outputs["exists"], tc.wantExists, said)
			}
			outcome := map[bool]string{true: "success", false: "failure"}
			destroyed := "skipped"
			if runs := outputs["exists"] != "false"; runs != tc.wantRun {
				t.Errorf("the destroy step runs %v; want %v", runs, tc.wantRun)
			} else if runs {
				// pulumi/actions' destroy: fails on a stack the backend
				// does not hold (selectStack), else succeeds here.
				destroyed = outcome[tc.exportErr == ""]
			}
			code, said := step(last.Run, append(env, "CHECK="+outcome[checked == 0], "DESTROY="+destroyed, "EXISTS="+outputs["exists"])...)
			if code != tc.wantCode || !strings.Contains(said, tc.wantSaid) {
				t.Errorf("the last step (check %s, destroy %s): exit %d, want %d saying %q:\n%s", outcome[checked == 0], destroyed, code, tc.wantCode, tc.wantSaid, said)
			}
		})
	}
}

// TestCampaignPulumiTokenOnlyWherePulumiRuns: the backend's settings,
// PULUMI_ACCESS_TOKEN among them, are given to each campaign job that runs
// Pulumi (pulumi/actions, pulumi-setup or the CLI in a script) and to no
// other. At workflow level they reached the plan job, which runs the
// dispatched ref's `go run` with no Environment and needs none of them
// (review 30, finding 10).
func TestCampaignPulumiTokenOnlyWherePulumiRuns(t *testing.T) {
	w := readWorkflow(t, "campaign.yml")
	want := map[string]string{
		"PULUMI_BACKEND_URL":                       "${{ vars.PULUMI_BACKEND_URL }}",
		"PULUMI_ACCESS_TOKEN":                      "${{ secrets.PULUMI_ACCESS_TOKEN }}",
		"PULUMI_SECRETS_PROVIDER":                  "${{ vars.PULUMI_SECRETS_PROVIDER }}",
		"PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
	}
	for k := range want {
		if v, ok := w.Env[k]; ok {
			t.Errorf("campaign.yml sets %s=%q for every job, the plan job's included", k, v)
		}
	}
	usePulumi := 0
	for name, j := range w.Jobs {
		uses := false
		for _, s := range j.Steps {
			uses = uses || strings.HasPrefix(s.Uses, "pulumi/actions@") || s.Uses == "./.github/actions/pulumi-setup" || strings.Contains(s.Run, "pulumi ")
			for k := range want {
				if _, ok := s.Env[k]; ok {
					t.Errorf("the %s job's step %q sets %s: the job's env holds the backend's settings", name, s.ID+s.Uses, k)
				}
			}
		}
		for k, v := range want {
			if got, ok := j.Env[k]; uses && got != v {
				t.Errorf("the %s job runs Pulumi with %s=%q; want %q", name, k, got, v)
			} else if !uses && ok {
				t.Errorf("the %s job runs no Pulumi but is given %s", name, k)
			}
		}
		if uses {
			usePulumi++
		}
	}
	if _, ok := w.Jobs["plan"]; !ok || usePulumi < 3 {
		t.Errorf("campaign.yml: a plan job %v, %d jobs running Pulumi; want the plan, the up, the test and the destroy", ok, usePulumi)
	}
}

// TestCampaignTestJobChecksEveryStackIsUp runs the test job's first check
// against a stand-in Pulumi CLI. "Re-run failed jobs" re-runs the failed
// legs and the jobs that need them, and "Jobs that aren't included keep
// their outputs from the previous attempt" (docs.github.com, "Re-running
// workflows and jobs"): after attempt 1's destroy legs emptied every
// stack, a re-run of one up leg, or of the test, ran the load test on
// stacks without Locust (review 30, finding 1). The check, before the
// test, names each such stack and says to use "Re-run all jobs"; an error
// that is not a missing output is shown as it is, without that advice.
func TestCampaignTestJobChecksEveryStackIsUp(t *testing.T) {
	test := readWorkflow(t, "campaign.yml").Jobs["test"]
	checkAt, testAt := -1, -1
	for i, s := range test.Steps {
		if strings.Contains(s.Run, "pulumi stack output masterService") {
			checkAt = i
		}
		if strings.Contains(s.Run, `exec "$RUNNER_TEMP/loadtest"`) {
			testAt = i
		}
	}
	if checkAt < 0 || testAt < checkAt {
		t.Fatalf("the test job checks the stacks' outputs at step %d, runs the load test at %d; want the check first", checkAt, testAt)
	}
	check := test.Steps[checkAt]
	if check.Env["STACKS"] != "${{ needs.plan.outputs.stacks }}" || check.If != "" || check.Shell != "bash" {
		t.Fatalf("the check's STACKS is %q, if %q, shell %q; want every planned stack, always checked, in bash -eo pipefail as run here", check.Env["STACKS"], check.If, check.Shell)
	}
	// The stand-in answers `pulumi stack output masterService --stack S`
	// with $ANSWER_<S> (its first line the exit code, the rest the
	// output), else with what the Pulumi CLI v3.274.1 says of an emptied
	// stack, as run here: "Error: current stack does not have output
	// property 'masterService'", exit 1. `pulumi login` answers 0.
	bin := t.TempDir()
	fake := `#!/usr/bin/env bash
[[ "$1" == login ]] && exit 0
[[ "$1 $2 $3 $4" == "stack output masterService --stack" ]] || { echo "unexpected: $*" >&2; exit 99; }
var="ANSWER_${5//-/_}"
if [[ -z "${!var:-}" ]]; then echo "Error: current stack does not have output property 'masterService'" >&2; exit 1; fi
tail -n +2 <<<"${!var}"
exit "$(head -1 <<<"${!var}")"
`
	if err := os.WriteFile(filepath.Join(bin, "pulumi"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	const up = "0\nloadtest-master"
	for _, tc := range []struct {
		name     string
		stacks   string
		answers  []string // ANSWER_<stack>=...
		wantCode int
		wantSaid []string
		wantNot  string
	}{
		{"every stack up", `["dev-use1","dev-euw1"]`, []string{"ANSWER_dev_use1=" + up, "ANSWER_dev_euw1=" + up}, 0, []string{"Stack dev-euw1: up"}, "::error::"},
		{"one stack emptied by an earlier attempt", `["dev-use1","dev-euw1"]`, []string{"ANSWER_dev_use1=" + up}, 1,
			[]string{"::error::Stack dev-euw1 holds no Locust", `"Re-run all jobs"`, "attempt 2"}, "Stack dev-use1 holds no"},
		{"a stack the backend does not hold", `["dev"]`, []string{"ANSWER_dev=6\nerror: no stack named 'dev' found"}, 1,
			[]string{"::error::Stack dev is not in the backend this job reads", "must name the same PULUMI_BACKEND_URL"}, "Re-run all jobs"},
		{"the outputs cannot be read", `["dev"]`, []string{"ANSWER_dev=1\nerror: failed to decrypt: AccessDeniedException"}, 1,
			[]string{"::error::Stack dev: its outputs cannot be read", "AccessDeniedException"}, "Re-run all jobs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "STACKS="+tc.stacks, "GITHUB_RUN_ATTEMPT=2")
			code, out := runStep(t, "", check.Run, append(env, tc.answers...))
			said := string(out)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, tc.wantCode, said)
			}
			for _, want := range tc.wantSaid {
				if !strings.Contains(said, want) {
					t.Errorf("the check did not say %q:\n%s", want, said)
				}
			}
			if tc.wantNot != "" && strings.Contains(said, tc.wantNot) {
				t.Errorf("the check said %q:\n%s", tc.wantNot, said)
			}
		})
	}
}

// TestCampaignPreflightBeforeAnythingBills: the test job's setup (its
// Environment, the role there, the role's trust for that Environment, its
// maximum session, its reach to the backend) is checked by a preflight
// job that every up leg needs, so a mistake in it fails the run before a
// cluster is created; before, the test job met it only after every stack
// was up (review 30, finding 2). The preflight runs in the test job's
// Environment, with the test job's pulumi-setup (stack, role, session),
// and calls STS and the backend. When it does not succeed nothing was
// brought up, and the destroy legs are skipped as after a failed plan.
func TestCampaignPreflightBeforeAnythingBills(t *testing.T) {
	w := readWorkflow(t, "campaign.yml")
	pre, test, up, destroy := w.Jobs["preflight"], w.Jobs["test"], w.Jobs["up"], w.Jobs["destroy"]
	if !slices.Contains(up.needs(), "preflight") || !slices.Contains(pre.needs(), "plan") {
		t.Errorf("the up job needs %v, the preflight %v; want every up leg after the preflight, the preflight after the plan (its first stack)", up.needs(), pre.needs())
	}
	if pre.Environment == "" || pre.Environment != test.Environment {
		t.Errorf("the preflight runs in Environment %q, the test job in %q; want the test job's", pre.Environment, test.Environment)
	}
	setup := func(j job) map[string]string {
		for _, s := range j.Steps {
			if s.Uses == "./.github/actions/pulumi-setup" {
				return s.With
			}
		}
		return nil
	}
	if got, want := setup(pre), setup(test); got == nil || !maps.Equal(got, want) {
		t.Errorf("the preflight's pulumi-setup is %v; want the test job's, %v (its stack's region, its role, its session)", got, want)
	}
	var script string
	for _, s := range pre.Steps {
		script += s.Run + "\n"
	}
	for _, call := range []string{"aws sts get-caller-identity", `pulumi login "${PULUMI_BACKEND_URL:-https://api.pulumi.com}"`, `pulumi stack select --stack "$stack"`} {
		if !strings.Contains(script, call) {
			t.Errorf("the preflight does not run %q", call)
		}
	}
	if strings.Contains(script, "pulumi stack ls") {
		t.Errorf("the preflight lists every stack of the backend (pulumi stack ls reads each one's state on a self-managed backend: a role of the set's stacks alone fails it)")
	}
	// A run re-run to finish an earlier attempt's destroy destroys even
	// when its preflight fails now.
	if destroy.If != "${{ always() && needs.plan.result == 'success' }}" || slices.Contains(destroy.needs(), "preflight") {
		t.Errorf("the destroy job needs %v, runs if %q; want it after every up leg and the test, whatever the preflight did", destroy.needs(), destroy.If)
	}
}

// TestCampaignPreflightReadsTheSetsStacks runs the preflight's backend step
// against stand-ins of the CLIs: a stack the backend holds and one it does
// not hold yet pass (a first campaign), a stack the role cannot read stops
// the run, naming it; the step records its attempt either way.
func TestCampaignPreflightReadsTheSetsStacks(t *testing.T) {
	var step step
	for _, s := range readWorkflow(t, "campaign.yml").Jobs["preflight"].Steps {
		if s.ID == "backend" {
			step = s
		}
	}
	if step.Run == "" || step.Shell != "bash" || step.Env["STACKS"] != "${{ needs.plan.outputs.stacks }}" {
		t.Fatalf("the preflight has no backend step reading every planned stack in bash: %+v", step)
	}
	// pulumi stack select answers with $ANSWER_<S> (its first line the exit
	// code, the rest the output), else as the CLI v3.274.1 does for a stack
	// the backend does not hold: "error: no stack named 'S' found", exit 255.
	bin := t.TempDir()
	fakes := map[string]string{
		"aws": "#!/usr/bin/env bash\necho '{\"Arn\": \"arn:aws:sts::123456789012:assumed-role/deploy/x\"}'\n",
		"pulumi": `#!/usr/bin/env bash
[[ "$1" == login ]] && exit 0
[[ "$1 $2 $3" == "stack select --stack" ]] || { echo "unexpected: $*" >&2; exit 99; }
var="ANSWER_${4//-/_}"
if [[ -z "${!var:-}" ]]; then echo "error: no stack named '$4' found" >&2; exit 255; fi
tail -n +2 <<<"${!var}"
exit "$(head -1 <<<"${!var}")"
`,
	}
	for name, text := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		answers  []string
		wantCode int
		wantSaid []string
	}{
		{"both held", []string{"ANSWER_dev_use1=0", "ANSWER_dev_euw1=0"}, 0, []string{"Stack dev-euw1: in this backend."}},
		{"a first campaign", nil, 0, []string{"Stack dev-use1: not in this backend yet", "Stack dev-euw1: not in this backend yet"}},
		{"a state the role cannot read", []string{"ANSWER_dev_use1=0", "ANSWER_dev_euw1=255\nerror: AccessDenied: Access Denied"}, 1,
			[]string{"::error::Stack dev-euw1 cannot be read", "AccessDenied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outputs := filepath.Join(t.TempDir(), "outputs")
			env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				`STACKS=["dev-use1","dev-euw1"]`, "GITHUB_RUN_ATTEMPT=3", "GITHUB_OUTPUT="+outputs)
			code, out := runStep(t, "", step.Run, append(env, tc.answers...))
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, tc.wantCode, out)
			}
			for _, want := range tc.wantSaid {
				if !strings.Contains(string(out), want) {
					t.Errorf("the step did not say %q:\n%s", want, out)
				}
			}
			if b, _ := os.ReadFile(outputs); string(b) != "attempt=3\n" {
				t.Errorf("the step's outputs are %q; want attempt=3", b)
			}
		})
	}
}

// TestCampaignUpLegRefusesAnotherAttemptsPreflight runs the up legs' first
// check: a leg re-run alone ("Re-run failed jobs") sees the preflight of an
// earlier attempt and stops before it creates anything.
func TestCampaignUpLegRefusesAnotherAttemptsPreflight(t *testing.T) {
	up := readWorkflow(t, "campaign.yml").Jobs["up"]
	at := -1
	for i, s := range up.Steps {
		if s.Env["PREFLIGHT_ATTEMPT"] == "${{ needs.preflight.outputs.attempt }}" {
			at = i
		}
		if at < 0 && (strings.HasPrefix(s.Uses, "pulumi/actions") || strings.Contains(s.Uses, "pulumi-setup")) {
			t.Fatalf("the up leg reaches %s at step %d before it checks its preflight's attempt", s.Uses, i)
		}
	}
	if at < 0 {
		t.Fatal("the up job has no step comparing the preflight's attempt with its own")
	}
	for _, tc := range []struct {
		preflight, attempt string
		wantCode           int
	}{
		{"1", "1", 0}, {"2", "2", 0}, {"1", "2", 1}, {"", "2", 1},
	} {
		code, out := runStep(t, "", up.Steps[at].Run, append(os.Environ(), "PREFLIGHT_ATTEMPT="+tc.preflight, "GITHUB_RUN_ATTEMPT="+tc.attempt))
		if code != tc.wantCode || (code != 0 && !strings.Contains(string(out), `"Re-run all jobs"`)) {
			t.Errorf("preflight of attempt %q, leg of attempt %s: exit %d, want %d:\n%s", tc.preflight, tc.attempt, code, tc.wantCode, out)
		}
	}
}

// runStep runs a workflow step's script as GitHub runs a bash step (bash
// --noprofile --norc -eo pipefail) in dir ("" the test's own) with env, and
// returns its exit code and its output.
func runStep(t *testing.T, dir, script string, env []string) (code int, out string) {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), string(b)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(b)
}
