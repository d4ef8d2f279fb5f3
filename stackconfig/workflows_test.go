package stackconfig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// awsStacks are the stacks whose file puts them on EKS: the ones CI
// previews on pull requests. Existing-cluster stacks (local) need a
// kubeconfig CI does not have.
func awsStacks(t *testing.T) []string {
	t.Helper()
	stacks, err := Stacks(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, stack := range stacks {
		cfg, err := Parse(lookupIn(stackValues(t, stack)), nil, available)
		if err != nil {
			t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
		}
		if cfg.Mode == ModeEKS {
			out = append(out, stack)
		}
	}
	slices.Sort(out)
	return out
}

type workflow struct {
	On struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Options []string `yaml:"options"`
				Default any      `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Concurrency concurrency    `yaml:"concurrency"`
	Jobs        map[string]job `yaml:"jobs"`
}

type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress any    `yaml:"cancel-in-progress"`
}

type job struct {
	If          string            `yaml:"if"`
	Needs       any               `yaml:"needs"`
	Uses        string            `yaml:"uses"`
	Environment string            `yaml:"environment"`
	Concurrency concurrency       `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Strategy    struct {
		Matrix struct {
			Include []map[string]string `yaml:"include"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

// needs lists a job's needs, given as one name or a list.
func (j job) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, v := range n {
			out = append(out, v.(string))
		}
		return out
	}
	return nil
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(projectDir + "/.github/workflows/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// TestPreviewMatrixCoversEveryEnvironment fails when a Pulumi.<env>.yaml
// on AWS is missing from the pull-request preview, or the preview names a
// stack with no file.
func TestPreviewMatrixCoversEveryEnvironment(t *testing.T) {
	want := awsStacks(t)
	w := readWorkflow(t, "preview.yml")
	var got []string
	for _, entry := range w.Jobs["preview"].Strategy.Matrix.Include {
		got = append(got, entry["stack"])
		if entry["role-variable"] == "" {
			t.Errorf("preview matrix entry %v names no role variable", entry)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("preview matrix stacks %v, want the AWS stack files %v", got, want)
	}
}

// TestDeployAndDestroyCoverEveryEnvironment keeps the deploy jobs and the
// destroy choices in step with the stack files too.
func TestDeployAndDestroyCoverEveryEnvironment(t *testing.T) {
	want := awsStacks(t)

	var deployed []string
	for name, job := range readWorkflow(t, "deploy.yml").Jobs {
		for _, step := range job.Steps {
			if stack := step.With["stack-name"]; stack != "" {
				deployed = append(deployed, stack)
				if job.Environment != stack {
					t.Errorf("deploy job %s updates %s in GitHub Environment %q; want the stack's own", name, stack, job.Environment)
				}
			}
		}
	}
	slices.Sort(deployed)
	if !slices.Equal(deployed, want) {
		t.Errorf("deploy.yml updates %v, want %v", deployed, want)
	}

	choices := readWorkflow(t, "destroy.yml").On.WorkflowDispatch.Inputs["stack"].Options
	slices.Sort(choices)
	if !slices.Equal(choices, want) {
		t.Errorf("destroy.yml offers %v, want %v", choices, want)
	}
}

// TestForkPullRequestsSkipPreview: a fork's pull request has no variables,
// secrets or OIDC token; its preview is skipped with a notice instead of
// failing red.
func TestForkPullRequestsSkipPreview(t *testing.T) {
	w := readWorkflow(t, "preview.yml")
	const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository"
	if w.Jobs["preview"].If != sameRepo {
		t.Errorf("preview job runs if %q, want %q", w.Jobs["preview"].If, sameRepo)
	}
	notice := false
	for _, j := range w.Jobs {
		if j.If == strings.Replace(sameRepo, "==", "!=", 1) {
			for _, s := range j.Steps {
				notice = notice || strings.Contains(s.Run, "GITHUB_STEP_SUMMARY")
			}
		}
	}
	if !notice {
		t.Error("no job tells a fork's pull request, in the job summary, why there is no preview")
	}
}

// pulumiSteps are the pulumi/actions steps of a workflow, by job.
func pulumiSteps(t *testing.T, name string) map[string]step {
	steps := map[string]step{}
	for jobName, j := range readWorkflow(t, name).Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "pulumi/actions@") {
				steps[jobName] = s
			}
		}
	}
	if len(steps) == 0 {
		t.Fatalf("%s runs no pulumi/actions step", name)
	}
	return steps
}

// TestFirstRunOnANewBackend: stack files carry no secrets provider, so the
// first run creates the stack (upsert) with the KMS provider of a repository
// variable, and the setup step refuses to go on without one on a
// self-managed backend instead of waiting for a passphrase.
func TestFirstRunOnANewBackend(t *testing.T) {
	const provider = "${{ vars.PULUMI_SECRETS_PROVIDER }}"
	for _, name := range []string{"preview.yml", "deploy.yml", "destroy.yml"} {
		for jobName, s := range pulumiSteps(t, name) {
			if s.With["secrets-provider"] != provider {
				t.Errorf("%s %s: secrets-provider %q, want %q", name, jobName, s.With["secrets-provider"], provider)
			}
			if name != "destroy.yml" && s.With["upsert"] != "true" {
				t.Errorf("%s %s: upsert %q; the first run of a new stack would fail with \"no stack named\"", name, jobName, s.With["upsert"])
			}
			if s.With["pulumi-version"] != "3.274.1" {
				t.Errorf("%s %s: Pulumi CLI %q, want the pinned 3.274.1", name, jobName, s.With["pulumi-version"])
			}
		}
		for jobName, j := range readWorkflow(t, name).Jobs {
			if _, runsPulumi := pulumiSteps(t, name)[jobName]; runsPulumi && j.Env["PULUMI_SECRETS_PROVIDER"] != provider {
				t.Errorf("%s %s: PULUMI_SECRETS_PROVIDER not in the job's env, so the setup check cannot see it", name, jobName)
			}
		}
	}
	action := readFile(t, ".github/actions/pulumi-setup/action.yml")
	if !strings.Contains(action, "PULUMI_SECRETS_PROVIDER") || !strings.Contains(action, "exit 1") {
		t.Error("pulumi-setup does not stop when a self-managed backend has no secrets provider")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(projectDir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNoIneffectiveLinkerFlags: pulumi-language-go 3.248 and later builds the
// program with its own -ldflags "-w -s", which wins over GOFLAGS.
func TestNoIneffectiveLinkerFlags(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(projectDir, ".github/workflows/*.yml"))
	for _, f := range files {
		if strings.Contains(readFile(t, ".github/workflows/"+filepath.Base(f)), "GOFLAGS") {
			t.Errorf("%s sets GOFLAGS, which the Go language host overrides", filepath.Base(f))
		}
	}
}

// TestToolsCache: the key has the Go version (a Go bump would otherwise
// restore tools that tools/build.sh rebuilds, and never save the new ones),
// and tools are saved even when the tests fail.
func TestToolsCache(t *testing.T) {
	w := readWorkflow(t, "test.yml")
	var restore, save *step
	for i, s := range w.Jobs["test"].Steps {
		switch {
		case strings.HasPrefix(s.Uses, "actions/cache/restore@"):
			restore = &w.Jobs["test"].Steps[i]
		case strings.HasPrefix(s.Uses, "actions/cache/save@"):
			save = &w.Jobs["test"].Steps[i]
		case strings.HasPrefix(s.Uses, "actions/cache@"):
			t.Errorf("test.yml restores and saves the tools in one step: a failed test run never saves them")
		}
	}
	if restore == nil || save == nil {
		t.Fatal("test.yml has no separate restore and save of the tools")
	}
	if !strings.Contains(restore.With["key"], "steps.go.outputs.go-version") || !strings.Contains(restore.With["key"], "hashFiles('tools/**')") {
		t.Errorf("tools cache key %q lacks the Go version or the tools' hash", restore.With["key"])
	}
	if !strings.Contains(save.If, "always()") || !strings.Contains(save.If, "steps.tools.outcome == 'success'") {
		t.Errorf("tools are saved if %q; want always(), but only after a complete build (steps.tools.outcome == 'success')", save.If)
	}
	if c := w.Concurrency.CancelInProgress; c == true || !strings.Contains(fmt.Sprint(c), "pull_request") {
		t.Errorf("cancel-in-progress %v would cancel a push to main", c)
	}
}

// TestDeployOnlyAfterTests: a red commit never deploys; deploy.yml is called
// by test.yml after the tests, on pushes to main that change something to
// deploy.
func TestDeployOnlyAfterTests(t *testing.T) {
	var d struct {
		On map[string]any `yaml:"on"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, ".github/workflows/deploy.yml")), &d); err != nil {
		t.Fatal(err)
	}
	_, onPush := d.On["push"]
	_, called := d.On["workflow_call"]
	if onPush || !called {
		t.Errorf("deploy.yml triggers %v; it must be called after the tests (workflow_call), not run on push", d.On)
	}
	w := readWorkflow(t, "test.yml")
	var caller *job
	for name, j := range w.Jobs {
		if j.Uses == "./.github/workflows/deploy.yml" {
			caller = &j
			if !slices.Contains(j.needs(), "test") {
				t.Errorf("job %s deploys without waiting for the tests (needs %v)", name, j.needs())
			}
			for _, cond := range []string{"github.event_name == 'push'", "refs/heads/main", "needs.changes.outputs.deploy == 'true'"} {
				if !strings.Contains(j.If, cond) {
					t.Errorf("job %s deploys if %q, lacking %q", name, j.If, cond)
				}
			}
		}
	}
	if caller == nil {
		t.Fatal("test.yml never calls deploy.yml")
	}
	// One group per push: a run whose deploy waits for prod's reviewers
	// must not hold back, or cancel, the pushes after it.
	if !strings.Contains(w.Concurrency.Group, "github.run_id") {
		t.Errorf("test.yml's concurrency group %q is shared by pushes to main; want one per run (github.run_id) for pushes", w.Concurrency.Group)
	}
	changes := w.Jobs["changes"]
	if !slices.Contains(changes.needs(), "test") {
		t.Errorf("the changes job runs before the tests end (needs %v): an older run finishing late would not see a newer deploy", changes.needs())
	}
	diff := ""
	for _, s := range changes.Steps {
		diff += s.Run
	}
	if !strings.Contains(diff, ".github/scripts/deployable-changes.sh") || !strings.Contains(diff, "dev prod") {
		t.Errorf("the changes job does not run deployable-changes.sh over the deploy chain dev prod: %q", diff)
	}
	diff = readFile(t, ".github/scripts/deployable-changes.sh")
	for _, path := range []string{"main.go", "go.mod", "Pulumi.*.yaml", "components", "stackconfig", "locustfiles"} {
		if !strings.Contains(diff, path) {
			t.Errorf("the changes job does not look at %s", path)
		}
	}
}

// TestDeployAndDestroyQueueApart: GitHub keeps one waiting run per
// concurrency group and cancels the older one; a deploy and a destroy of a
// stack in one group would drop each other silently.
func TestDeployAndDestroyQueueApart(t *testing.T) {
	groups := map[string]string{}
	stacks := readWorkflow(t, "destroy.yml").On.WorkflowDispatch.Inputs["stack"].Options
	for _, name := range []string{"deploy.yml", "destroy.yml"} {
		for jobName := range pulumiSteps(t, name) {
			c := readWorkflow(t, name).Jobs[jobName].Concurrency
			if c.Group == "" || c.CancelInProgress != false {
				t.Errorf("%s %s: concurrency %+v; want a group that never cancels a running update", name, jobName, c)
			}
			// A group named after the chosen stack is each stack's group.
			expanded := []string{c.Group}
			if strings.Contains(c.Group, "${{ inputs.stack }}") {
				expanded = nil
				for _, stack := range stacks {
					expanded = append(expanded, strings.ReplaceAll(c.Group, "${{ inputs.stack }}", stack))
				}
			}
			for _, g := range expanded {
				if other, taken := groups[g]; taken {
					t.Errorf("%s %s shares concurrency group %q with %s", name, jobName, g, other)
				}
				groups[g] = name + " " + jobName
			}
		}
	}
}

// TestDestroyConfirmationFailsLoudly: a mismatched confirmation must fail the
// run, not skip the job and show green.
func TestDestroyConfirmationFailsLoudly(t *testing.T) {
	w := readWorkflow(t, "destroy.yml")
	for name, j := range w.Jobs {
		if strings.Contains(j.If, "inputs.confirm") {
			t.Errorf("job %s is skipped on a mismatched confirmation (if: %s); the run would show green", name, j.If)
		}
	}
	checked := false
	for _, s := range w.Jobs["confirm"].Steps {
		checked = checked || (strings.Contains(s.Run, `"$CONFIRM" != "$STACK"`) && strings.Contains(s.Run, "exit 1"))
	}
	if !checked || !slices.Contains(w.Jobs["destroy"].needs(), "confirm") {
		t.Error("destroy does not wait for a confirm job that fails on a mismatch")
	}
}

// TestSetupReadsStackFilesWithAYAMLParser and checks for the AWS CLI that
// pulumi-eks needs even for a preview.
func TestSetupReadsStackFilesWithAYAMLParser(t *testing.T) {
	action := readFile(t, ".github/actions/pulumi-setup/action.yml")
	if strings.Contains(action, "sed -n 's/^ *aws:region") || !strings.Contains(action, "go run ./cmd/stackvalue") {
		t.Error("pulumi-setup does not read aws:region with cmd/stackvalue")
	}
	if !strings.Contains(action, "aws --version") || !strings.Contains(action, "minor < 7") {
		t.Error("pulumi-setup does not make sure of AWS CLI v2 >= 2.7.0, which pulumi-eks requires")
	}
}

// TestSecondRunFindsTheSecretsProvider: with a self-managed backend the
// first run creates the stack with PULUMI_SECRETS_PROVIDER (pulumi/actions'
// upsert); later runs only select it, and the checked-out stack file has no
// secretsprovider, so Pulumi would ask for a passphrase. Every job that runs
// Pulumi against a stack must let it fall back to the provider recorded in
// the state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, pulumi/pulumi#17236).
func TestSecondRunFindsTheSecretsProvider(t *testing.T) {
	for _, file := range []string{"deploy.yml", "destroy.yml", "preview.yml", "loadtest.yml"} {
		for name, j := range readWorkflow(t, file).Jobs {
			if _, runsPulumi := j.Env["PULUMI_SECRETS_PROVIDER"]; !runsPulumi {
				continue
			}
			if j.Env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] != "true" {
				t.Errorf("%s job %s: a second run on a self-managed backend would ask for a passphrase; set PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: \"true\"", file, name)
			}
		}
	}
}

// TestLoadTestWorkflow: a load test of any AWS stack, from its own GitHub
// Environment with OIDC, with the stack's thresholds (from its outputs),
// failing on breached ones and keeping the results even then.
func TestLoadTestWorkflow(t *testing.T) {
	w := readWorkflow(t, "loadtest.yml")
	choices := w.On.WorkflowDispatch.Inputs["stack"].Options
	slices.Sort(choices)
	if want := awsStacks(t); !slices.Equal(choices, want) {
		t.Errorf("loadtest.yml offers %v, want %v", choices, want)
	}
	j, ok := w.Jobs["loadtest"]
	if !ok {
		t.Fatal("loadtest.yml has no loadtest job")
	}
	var setup, command, upload bool
	for _, s := range j.Steps {
		switch {
		case s.Uses == "./.github/actions/pulumi-setup":
			setup = true
		case strings.Contains(s.Run, "go run ./cmd/loadtest"):
			t.Errorf("loadtest.yml runs the command with go run, which turns exit codes 2 and 3 into 1 and does not pass on a cancel's signal: %q", s.Run)
		case strings.Contains(s.Run, `exec "$RUNNER_TEMP/loadtest" --stack`) && !strings.Contains(s.Run, "--stack-outputs=false"):
			command = true
			// A flag only for an input given: the stack's values otherwise.
			for _, flag := range []string{"--users", "--spawn-rate", "--run-time"} {
				if !regexp.MustCompile(`if \[\[ -n "\$[A-Z_]+" \]\]; then flags\+=\(` + flag + ` `).MatchString(s.Run) {
					t.Errorf("loadtest.yml passes %s whether or not the input is given: %q", flag, s.Run)
				}
			}
		case strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.Contains(s.If, "always()") && s.With["path"] == "results/":
			upload = true
		}
	}
	if !setup || !command || !upload {
		t.Errorf("loadtest.yml: OIDC setup %v, the command with the stack's outputs (thresholds, port-forward) %v, results kept on failure %v; want all", setup, command, upload)
	}
	if !strings.Contains(j.Environment, "inputs.stack") {
		t.Errorf("loadtest job runs in environment %q; want the chosen stack's", j.Environment)
	}
	for name, in := range w.On.WorkflowDispatch.Inputs {
		if name != "stack" && in.Default != nil && in.Default != "" {
			t.Errorf("loadtest.yml input %s defaults to %v; empty must leave the stack's own loadTest value", name, in.Default)
		}
	}
	// The same group as the deploy of that stack: neither replaces pods
	// under the other.
	deploy := readWorkflow(t, "deploy.yml")
	for _, dj := range deploy.Jobs {
		if stack := strings.TrimPrefix(dj.Concurrency.Group, "pulumi-deploy-"); stack != dj.Concurrency.Group {
			if got := strings.ReplaceAll(j.Concurrency.Group, "${{ inputs.stack || 'dev' }}", stack); got != dj.Concurrency.Group {
				t.Errorf("loadtest concurrency group %q is not the %s deploy's %q", j.Concurrency.Group, stack, dj.Concurrency.Group)
			}
		}
	}
}

// TestSetupInstallsAMissingAWSCLI runs pulumi-setup's AWS CLI step as the
// runner runs a composite action's bash step (bash --noprofile --norc -eo
// pipefail, GitHub's docs on `shell: bash`), with no aws on the PATH and
// stubs for curl, unzip and sudo: the step must reach the install, not end
// at the version check; with a current aws it installs nothing.
func TestSetupInstallsAMissingAWSCLI(t *testing.T) {
	var action struct {
		Runs struct {
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, ".github/actions/pulumi-setup/action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	var script string
	for _, s := range action.Runs.Steps {
		if strings.HasPrefix(s.Name, "AWS CLI v2") {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("pulumi-setup has no AWS CLI step")
	}
	for _, tc := range []struct {
		name, installed string // installed: the aws --version line, "" for none
		wantInstall     bool
	}{
		{"no aws", "", true},
		{"aws v1", "aws-cli/1.29.0 Python/3.11", true},
		{"aws 2.6", "aws-cli/2.6.4 Python/3.9", true},
		{"aws 2.22", "aws-cli/2.22.0 Python/3.12", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			stub := func(name, body string) {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			awsStub := "echo '" + tc.installed + "'"
			if tc.installed != "" {
				stub("aws", awsStub)
			}
			log := filepath.Join(dir, "calls")
			stub("curl", `echo curl >> `+log)
			stub("unzip", `echo unzip >> `+log)
			// The installer puts a current aws on the PATH.
			stub("sudo", `echo sudo "$@" >> `+log+`; printf '#!/bin/bash\necho aws-cli/2.22.0\n' > `+bin+`/aws; chmod +x `+bin+`/aws`)
			for _, tool := range []string{"sed", "chmod", "printf"} {
				if p, err := exec.LookPath(tool); err == nil {
					if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
						t.Fatal(err)
					}
				}
			}
			cmd := exec.Command("/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Env = []string{"PATH=" + bin, "RUNNER_TEMP=" + dir}
			out, err := cmd.CombinedOutput()
			calls, _ := os.ReadFile(log)
			installed := strings.Contains(string(calls), "sudo "+dir+"/aws/install --update")
			if err != nil || installed != tc.wantInstall || !strings.Contains(string(out), "aws-cli/2.") {
				t.Errorf("%v; installed %v, want %v; calls %q\n%s", err, installed, tc.wantInstall, calls, out)
			}
		})
	}
}

// TestDeployRefreshes: the deploy's up refreshes first, so objects changed
// behind Pulumi's back (kubectl scale, edit, delete) are put back, as
// TestEndToEnd's drift step shows with the real engine.
func TestDeployRefreshes(t *testing.T) {
	deploys := 0
	for name, j := range readWorkflow(t, "deploy.yml").Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] == "up" {
				deploys++
				if s.With["refresh"] != "true" {
					t.Errorf("deploy job %s runs up without refresh: drift stays", name)
				}
			}
		}
	}
	if deploys == 0 {
		t.Fatal("deploy.yml runs no up")
	}
}

// TestReaperAsksReviewersOnlyForExpiredStacks: the reaper decides in a job
// with no Environment, with each stack's read-only preview role, and only
// the stacks it finds expired get a job in their Environment (prod's
// reviewers are not asked every hour); that job has a concurrency group of
// its own, so a reap waiting for reviewers never cancels a waiting manual
// destroy (GitHub cancels the pending job of a group when a newer one
// arrives). The decide step runs here with stand-ins for go, curl, aws,
// pulumi and cmd/reaper.
func TestReaperAsksReviewersOnlyForExpiredStacks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(projectDir, ".github/workflows/reaper.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Jobs map[string]struct {
			Needs       any               `yaml:"needs"`
			If          string            `yaml:"if"`
			Environment string            `yaml:"environment"`
			Outputs     map[string]string `yaml:"outputs"`
			Concurrency concurrency       `yaml:"concurrency"`
			Strategy    struct {
				Matrix map[string]any `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []step `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	decideJob, reapJob := w.Jobs["stacks"], w.Jobs["reap"]
	if decideJob.Environment != "" || decideJob.Outputs["expired"] != "${{ steps.decide.outputs.expired }}" {
		t.Errorf("the stacks job: environment %q, outputs %v; want none, and the decide step's expired", decideJob.Environment, decideJob.Outputs)
	}
	if reapJob.Needs != "stacks" || reapJob.Environment != "${{ matrix.stack }}" || reapJob.Strategy.Matrix["stack"] != "${{ fromJSON(needs.stacks.outputs.expired) }}" ||
		!strings.Contains(reapJob.If, "needs.stacks.outputs.expired != '[]'") {
		t.Errorf("the reap job: needs %v, environment %q, matrix %v, if %q; want only the expired stacks, each in its Environment",
			reapJob.Needs, reapJob.Environment, reapJob.Strategy.Matrix, reapJob.If)
	}
	if reapJob.Concurrency.Group != "pulumi-reap-${{ matrix.stack }}" || reapJob.Concurrency.CancelInProgress != false {
		t.Errorf("the reap job's concurrency %+v; want its own group, never cancelling a running reap", reapJob.Concurrency)
	}
	for _, name := range []string{"deploy.yml", "destroy.yml", "campaign.yml"} {
		other := readWorkflow(t, name)
		groups := []string{other.Concurrency.Group}
		for _, j := range other.Jobs {
			groups = append(groups, j.Concurrency.Group)
		}
		for _, g := range groups {
			if g != "" && strings.HasPrefix(g, "pulumi-reap-") {
				t.Errorf("%s uses the reaper's concurrency group %q", name, g)
			}
		}
	}
	var script string
	for _, s := range decideJob.Steps {
		if s.ID == "decide" {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("the stacks job has no decide step")
	}

	dir := t.TempDir()
	stackvalue := filepath.Join(dir, "stackvalue")
	if out, err := exec.Command("go", "build", "-o", stackvalue, "../cmd/stackvalue").CombinedOutput(); err != nil {
		t.Fatalf("building cmd/stackvalue: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// The stand-ins. `go build -o X ./cmd/reaper` writes a reaper that
	// prints $REAPER_<stack> and exits with $REAPER_EXIT_<stack>, after
	// checking it runs with the credentials of that stack's role; aws
	// answers AssumeRoleWithWebIdentity as the STS API does (Credentials
	// with AccessKeyId, SecretAccessKey, SessionToken:
	// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html),
	// the key naming the role; curl answers the OIDC token request with
	// {"value": ...} (actions/toolkit packages/core/src/oidc-utils.ts).
	fakes := map[string]string{
		"go": `#!/bin/bash
if [ "$1" = run ] && [ "$2" = ./cmd/stackvalue ]; then shift 2; exec ` + stackvalue + ` "$@"; fi
if [ "$1" = build ] && [ "$2" = -o ] && [ "$4" = ./cmd/reaper ]; then
  cat >"$3" <<'REAPER'
#!/bin/bash
stack=$3
[ "$1 $2" = "--dry-run --stack" ] || { echo "reaper called with $*" >&2; exit 99; }
[ "$AWS_ACCESS_KEY_ID" = "key-for-preview-$stack" ] || { echo "$stack: not handled: credentials $AWS_ACCESS_KEY_ID"; exit 1; }
out=REAPER_$stack code=REAPER_EXIT_$stack
echo "1 stacks, as of now:"
echo "${!out}"
exit "${!code:-0}"
REAPER
  chmod +x "$3"; exit 0
fi
exit 99
`,
		"curl": "#!/bin/sh\necho '{\"count\":1,\"value\":\"oidc-token\"}'\n",
		"aws": `#!/bin/bash
[ "$1 $2" = "sts assume-role-with-web-identity" ] || exit 99
while [ $# -gt 0 ]; do case "$1" in --role-arn) role=$2;; --web-identity-token) tok=$2;; esac; shift; done
[ "$tok" = oidc-token ] || exit 98
echo "{\"Credentials\":{\"AccessKeyId\":\"key-for-${role##*/}\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"2026-12-02T11:00:00Z\"}}"
`,
		"pulumi": "#!/bin/sh\necho \"Logged in to $2\"\n",
	}
	for name, text := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roles := `{"AWS_PREVIEW_ROLE_ARN_DEV": "arn:aws:iam::123456789012:role/preview-dev", "AWS_PREVIEW_ROLE_ARN_PROD": "arn:aws:iam::123456789012:role/preview-prod"}`
	for _, tc := range []struct {
		name        string
		stacks      string
		vars        string
		dryRun      string
		env         []string
		wantExpired string
		wantFailed  string
	}{
		{"nothing has a time to live", "[]", roles, "false", nil, "[]", ""},
		{"prod kept: its reviewers are not asked", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: would destroy: expired 2026-12-02T09:00:00Z, 1h0m0s ago", "REAPER_prod=prod: kept: expires 2026-12-03T09:00:00Z, in 23h0m0s"}, `["dev"]`, ""},
		{"both expired", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: would destroy: expired x", "REAPER_prod=prod: would destroy: expired y"}, `["dev","prod"]`, ""},
		{"a dry run reaps nothing", `["dev","prod"]`, roles, "true",
			[]string{"REAPER_dev=dev: would destroy: expired x", "REAPER_prod=prod: would destroy: expired y"}, "[]", ""},
		{"one not decided, the other still reaped", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: not handled: 3 resources and ttlHours \"8\" in its stack file, but no up recorded an expiry", "REAPER_EXIT_dev=1",
				"REAPER_prod=prod: would destroy: expired y"}, `["prod"]`, "dev"},
		{"no preview role", `["dev","prod"]`, `{"AWS_PREVIEW_ROLE_ARN_DEV": "arn:aws:iam::123456789012:role/preview-dev"}`, "false",
			[]string{"REAPER_dev=dev: would destroy: expired x"}, `["dev"]`, "prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			output, summary := filepath.Join(work, "output"), filepath.Join(work, "summary")
			cmd := exec.Command("bash", "-e", "-c", script)
			cmd.Dir = projectDir
			cmd.Env = append(append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_OUTPUT="+output, "GITHUB_STEP_SUMMARY="+summary, "RUNNER_TEMP="+work, "GITHUB_RUN_ID=42",
				"ACTIONS_ID_TOKEN_REQUEST_URL=https://token.actions.example/?x=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=req",
				"STACKS="+tc.stacks, "VARS="+tc.vars, "DRY_RUN="+tc.dryRun), tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the decide step failed (the job's last step fails it, after the outputs): %v\n%s", err, out)
			}
			got, _ := os.ReadFile(output)
			lines := strings.TrimSpace(string(got))
			if want := "expired=" + tc.wantExpired + "\nfailed=" + tc.wantFailed; lines != want {
				t.Errorf("outputs\n%s\nwant\n%s\nits log:\n%s", lines, want, out)
			}
		})
	}
}
