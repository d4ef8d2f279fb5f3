package stackconfig

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/campaign"
	"gopkg.in/yaml.v3"
)

// awsStacks are the stacks whose file puts them on EKS: the ones CI runs,
// each on its own (aloneStacks) or with its set. Existing-cluster stacks
// (local) need a kubeconfig CI does not have.
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

// setStacks maps each stack of a set (campaigns/<name>.yaml, read by
// internal/campaign) to its set's name.
func setStacks(t *testing.T) map[string]string {
	t.Helper()
	sets, err := campaign.All(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, c := range sets {
		for _, s := range c.Names() {
			owner[s] = c.Name
		}
	}
	return owner
}

// aloneStacks are the AWS stacks of no set: the ones deployed, previewed
// and load-tested on their own. A set's stacks run only with their set, in
// its concurrency group.
func aloneStacks(t *testing.T) []string {
	t.Helper()
	sets := setStacks(t)
	var out []string
	for _, s := range awsStacks(t) {
		if _, inSet := sets[s]; !inSet {
			out = append(out, s)
		}
	}
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
	Concurrency concurrency       `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]job    `yaml:"jobs"`
}

type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress any    `yaml:"cancel-in-progress"`
}

type job struct {
	If          string            `yaml:"if"`
	Needs       any               `yaml:"needs"`
	Uses        string            `yaml:"uses"`
	Environment environment       `yaml:"environment"`
	Concurrency concurrency       `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Timeout     int               `yaml:"timeout-minutes"`
	Outputs     map[string]string `yaml:"outputs"`
	Strategy    struct {
		FailFast any `yaml:"fail-fast"`
		Matrix   struct {
			Include []map[string]string `yaml:"include"`
			// Stack is a matrix given as one expression, as in
			// stack: ${{ fromJSON(...) }}.
			Stack string `yaml:"stack"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	ID              string            `yaml:"id"`
	If              string            `yaml:"if"`
	Uses            string            `yaml:"uses"`
	Run             string            `yaml:"run"`
	Shell           string            `yaml:"shell"`
	With            map[string]string `yaml:"with"`
	Env             map[string]string `yaml:"env"`
	ContinueOnError bool              `yaml:"continue-on-error"`
}

// environment is a job's environment name, given alone or as the name of
// an object with a url (GitHub's workflow syntax, jobs.<job_id>.environment).
type environment string

// UnmarshalYAML reads either form.
func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*e = environment(n.Value)
		return nil
	}
	var named struct {
		Name string `yaml:"name"`
	}
	if err := n.Decode(&named); err != nil {
		return err
	}
	*e = environment(named.Name)
	return nil
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
// on AWS of no set is missing from the pull-request preview, or the
// preview names a stack with no file or a stack of a set.
func TestPreviewMatrixCoversEveryEnvironment(t *testing.T) {
	want := aloneStacks(t)
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
// destroy choices in step with the stack files too: deploy.yml deploys
// the stacks of no set, destroy.yml offers every AWS stack.
func TestDeployAndDestroyCoverEveryEnvironment(t *testing.T) {
	want := aloneStacks(t)

	var deployed []string
	for name, job := range readWorkflow(t, "deploy.yml").Jobs {
		for _, step := range job.Steps {
			if stack := step.With["stack-name"]; stack != "" {
				deployed = append(deployed, stack)
				if string(job.Environment) != stack {
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
	if all := awsStacks(t); !slices.Equal(choices, all) {
		t.Errorf("destroy.yml offers %v, want %v", choices, all)
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
	if want := aloneStacks(t); !slices.Equal(choices, want) {
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
	if !strings.Contains(string(j.Environment), "inputs.stack") {
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

// TestSessionsWithinTheRolesMaximum: AssumeRoleWithWebIdentity fails when
// DurationSeconds exceeds the role's MaxSessionDuration ("If you specify a
// value higher than this setting, the operation fails", AWS STS API
// reference, AssumeRoleWithWebIdentity, DurationSeconds). docs/ci.md gives
// that maximum once (--max-session-duration); no workflow may ask for more,
// and each job's session must last as long as the job may run, or its
// credentials expire mid-update. Before, campaign.yml asked for 10800 while
// the README set 7200 (the text now in docs/ci.md).
func TestSessionsWithinTheRolesMaximum(t *testing.T) {
	documented := regexp.MustCompile(`--max-session-duration (\d+)`).FindAllStringSubmatch(readFile(t, "docs/ci.md"), -1)
	if len(documented) == 0 {
		t.Fatal("docs/ci.md gives no --max-session-duration for the deploy role")
	}
	maximum := 0
	for _, m := range documented {
		n := 0
		fmt.Sscan(m[1], &n)
		if maximum != 0 && n != maximum {
			t.Errorf("docs/ci.md gives two maximum session durations, %d and %d; keep one", maximum, n)
		}
		maximum = n
	}
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, ".github/actions/pulumi-setup/action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(projectDir, ".github/workflows/*.yml"))
	checked := 0
	for _, f := range files {
		name := filepath.Base(f)
		for jobName, j := range readWorkflow(t, name).Jobs {
			for _, s := range j.Steps {
				if s.Uses != "./.github/actions/pulumi-setup" {
					continue
				}
				asked := s.With["role-duration-seconds"]
				if asked == "" {
					asked = action.Inputs["role-duration-seconds"].Default
				}
				seconds := 0
				if _, err := fmt.Sscan(asked, &seconds); err != nil {
					t.Errorf("%s %s: role-duration-seconds %q is not a number", name, jobName, asked)
					continue
				}
				checked++
				if seconds > maximum {
					t.Errorf("%s %s asks for a %d s session; docs/ci.md sets the role's maximum to %d: STS refuses it", name, jobName, seconds, maximum)
				}
				if j.Timeout*60 > seconds {
					t.Errorf("%s %s may run %d minutes on a %d s session", name, jobName, j.Timeout, seconds)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no workflow job uses pulumi-setup")
	}
}

// fakePulumi writes a `pulumi` that answers `pulumi stack export --stack S`
// with dir/state.json, or, when dir/export.err exists, with that message on
// stderr and exit 1, as the CLI reports any command error ("error: " and the
// message, exit 1: pulumi/pulumi@1b59498 sdk/go/common/util/cmdutil/exit.go,
// ExitError and ExitCodeError). Every other call is recorded in dir/calls,
// one argument a line, and answers exit 0, so a test sees what was run
// (`pulumi cancel` included).
func fakePulumi(t *testing.T, dir string) {
	t.Helper()
	script := `#!/usr/bin/env bash
if [[ "$1 $2" == "stack export" ]]; then
  if [[ -f "` + dir + `/export.err" ]]; then cat "` + dir + `/export.err" >&2; exit 1; fi
  cat "` + dir + `/state.json"
  exit 0
fi
if [[ "$1 $2" == "stack history" ]]; then
  if [[ -f "` + dir + `/history.json" ]]; then cat "` + dir + `/history.json"; else echo "[]"; fi
  exit 0
fi
printf '%s\n' "$@" "--" >> "` + dir + `/calls"
`
	if err := os.WriteFile(filepath.Join(dir, "pulumi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeAWS writes an `aws` (CLI v2) whose S3 is the directory dir/s3, one
// subdirectory per bucket. It answers the three calls the recovery script
// makes, with the global options --region, --profile and --endpoint-url
// before the command (AWS CLI v2 command reference):
//   - `s3api list-objects-v2 --bucket B --prefix P --output json`: the
//     ListObjectsV2 response, {"Contents": [{"Key", "LastModified", "ETag",
//     "Size", "StorageClass"}], "Prefix"}, without Contents when nothing
//     matches (docs.aws.amazon.com/cli/latest/reference/s3api/list-objects-v2.html;
//     API reference ListObjectsV2, Contents is absent from an empty result);
//   - `s3 cp s3://B/K -`: the object on stdout ("-" streams to stdout,
//     docs.aws.amazon.com/cli/latest/reference/s3/cp.html);
//   - `s3api delete-object --bucket B --key K`: deletes it.
//
// With dir/deny present every call fails as S3 does for a role without
// access: "An error occurred (AccessDenied) when calling the ... operation:
// Access Denied" on stderr, exit 254 (a service error: AWS CLI v2 "Return
// codes" topic). Each call's arguments are appended to dir/aws-calls.
func fakeAWS(t *testing.T, dir string) {
	t.Helper()
	script := `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "` + dir + `/aws-calls"
while [[ "$1" == --region || "$1" == --profile || "$1" == --endpoint-url ]]; do shift 2; done
op="$1 $2"; shift 2
if [[ -f "` + dir + `/deny" ]]; then
  echo "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied" >&2
  exit 254
fi
declare -A arg=()
pos=()
while (($#)); do
  case "$1" in --*) arg[$1]=$2; shift 2 ;; *) pos+=("$1"); shift ;; esac
done
s3="` + dir + `/s3"
case "$op" in
  "s3api list-objects-v2")
    cd "$s3/${arg[--bucket]}"
    find . -type f -path "./${arg[--prefix]}*" | sed 's|^\./||' | sort |
      jq -R '{Key: ., LastModified: "2026-12-07T10:00:00+00:00", ETag: "\"d41d8cd98f00b204e9800998ecf8427e\"", Size: 0, StorageClass: "STANDARD"}' |
      jq -s --arg p "${arg[--prefix]}" 'if length == 0 then {RequestCharged: null, Prefix: $p} else {Contents: ., RequestCharged: null, Prefix: $p} end' ;;
  "s3 cp")
    src=${pos[0]#s3://}
    cat "$s3/$src" ;;
  "s3api delete-object")
    rm "$s3/${arg[--bucket]}/${arg[--key]}" ;;
  *) echo "fake aws: unexpected call $op" >&2; exit 252 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// lockFile is a DIY backend lock's content: pulumi/pulumi@1b59498
// pkg/backend/diy/lock.go lockContent, json.Marshal of {pid, username,
// hostname, timestamp}, the time in RFC 3339 with nanoseconds as Go's
// time.Time marshals it.
func lockFile(host string, written time.Time) string {
	return fmt.Sprintf(`{"pid":4242,"username":"runner","hostname":%q,"timestamp":%q}`, host, written.Format(time.RFC3339Nano))
}

// exportedState is `pulumi stack export` output: apitype.UntypedDeployment
// {version: 3, deployment: DeploymentV3 {manifest, resources,
// pending_operations: [{resource: ResourceV3, type}]}}
// (pulumi/pulumi@1b59498 sdk/go/common/apitype/core.go).
func exportedState(resources, pending string) string {
	return `{"version":3,"deployment":{"manifest":{"time":"2026-12-07T10:00:00Z","magic":"m","version":"v3.274.1"},` +
		`"resources":[` + resources + `],"pending_operations":[` + pending + `]}}`
}

// updateHistory is `pulumi stack history --json --page-size 1` on Pulumi
// Cloud: an array of updateInfoJSON {version, kind, startTime, message,
// environment, config, result} (pulumi/pulumi v3.274.1
// pkg/cmd/pulumi/stack/stack_history.go), result "in-progress" while the
// update runs (pkg/backend/updates.go InProgressResult), environment
// holding the CI's build as ci.build.id (GITHUB_RUN_ID on GitHub Actions:
// sdk/go/common/util/ciutil/github_actions.go).
func updateHistory(result, run string) string {
	return fmt.Sprintf(`[{"version":0,"kind":"update","startTime":"2026-12-07T10:00:00Z","message":"",`+
		`"environment":{"ci.system":"GitHub","ci.build.id":%q,"exec.kind":"cli"},"config":{},"result":%q}]`, run, result)
}

const (
	stackURN  = `{"urn":"urn:pulumi:dev::locust-eks::pulumi:pulumi:Stack::locust-eks-dev","custom":false,"type":"pulumi:pulumi:Stack"}`
	configMap = `{"resource":{"urn":"urn:pulumi:dev::locust-eks::locust:index:LocustCluster$kubernetes:core/v1:ConfigMap::locustfiles","custom":true,` +
		`"type":"kubernetes:core/v1:ConfigMap","inputs":{"metadata":{"name":"locustfiles-x1y2z3","namespace":"locust"}}},"type":"creating"}`
	clusterURN   = "urn:pulumi:dev::locust-eks::eks:index:Cluster$aws:eks/cluster:Cluster::locust-eksCluster"
	liveCluster  = `{"urn":"` + clusterURN + `","custom":true,"id":"locust-eksCluster-1111111","type":"aws:eks/cluster:Cluster","inputs":{"name":"locust-eksCluster-1111111"}}`
	newCluster   = `{"resource":{"urn":"` + clusterURN + `","custom":true,"type":"aws:eks/cluster:Cluster","inputs":{"name":"locust-eksCluster-2222222"}},"type":"creating"}`
	natGateway   = `{"resource":{"urn":"urn:pulumi:dev::locust-eks::aws:ec2/natGateway:NatGateway::nat-0","custom":true,"type":"aws:ec2/natGateway:NatGateway","inputs":{"tags":{"Name":"locust-nat-0","stack":"dev"}}},"type":"creating"}`
	pendingEdit  = `{"resource":{"urn":"urn:pulumi:dev::locust-eks::kubernetes:apps/v1:Deployment::workers","custom":true,"type":"kubernetes:apps/v1:Deployment"},"type":"updating"}`
	projectLocks = ".pulumi/locks/organization/locust-eks/dev/"
)

// TestRecoverInterrupted runs recover-interrupted.sh against fakes of the
// Pulumi and AWS CLIs and a backend directory: what it deletes, what it
// prints and its exit code, for each finding of the day-two review.
func TestRecoverInterrupted(t *testing.T) {
	for _, tool := range []string{"jq", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	script, err := filepath.Abs(filepath.Join(projectDir, ".github/scripts/recover-interrupted.sh"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	type file struct{ path, content string }
	cases := []struct {
		name      string
		backend   string // file://ROOT, file://~/state, s3://state/team?... (ROOT: the test's directory)
		args      []string
		locks     []file // under the backend's root
		state     string // the export; "" with exportErr
		exportErr string
		deny      bool
		wantCode  int
		wantSaid  []string
		wantNot   []string
		wantLocks []string // lock paths left afterwards
		wantAWS   string   // in the AWS CLI's calls
		history   string   // pulumi stack history --json; "" answers []
		// wantCancel: the script runs pulumi cancel (Pulumi Cloud only).
		wantCancel bool
		// The arguments the printed import-command line gives pulumi when
		// run: URN and ID as two --import-pending-creates values, no
		// positional argument (pulumi/pulumi@1b59498
		// pkg/cmd/pulumi/operations/refresh.go: a StringArray flag, NoArgs,
		// pendingCreatesToImports pairs them).
		wantImport []string
	}{
		{name: "D1: the campaign's dead test job's fresh lock is removed before the destroy, pending creates do not stop it",
			backend: "file://ROOT", args: []string{"--dead-host", "fv-az42-7", "--before", "destroy", "dev"},
			locks:    []file{{projectLocks + "a1.json", lockFile("fv-az42-7", now.Add(-2*time.Minute))}},
			state:    exportedState(stackURN, natGateway),
			wantCode: 0, wantSaid: []string{"that runner's job has ended", "Removing it", "::warning::", "the destroy goes on"}},
		{name: "D14: a stale lock is judged by its own timestamp and deleted alone, a fresh one of another host stays",
			backend: "file://ROOT", args: []string{"dev"},
			locks: []file{{projectLocks + "old.json", lockFile("laptop", now.Add(-3*time.Hour))},
				{projectLocks + "new.json", lockFile("fv-az9-1", now.Add(-5*time.Minute))}},
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"older than any update may run", "Removing it", "minutes old; an update may still be running, so it stays"},
			wantLocks: []string{projectLocks + "new.json"}},
		{name: "a fresh lock of another host stays even with --dead-host",
			backend: "file://ROOT", args: []string{"--dead-host", "fv-az42-7", "--before", "destroy", "dev"},
			locks:    []file{{projectLocks + "b.json", lockFile("fv-az9-1", now.Add(-5*time.Minute))}},
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"so it stays"}, wantLocks: []string{projectLocks + "b.json"}},
		{name: "D12: a legacy-layout lock is found",
			backend: "file://ROOT", args: []string{"dev"},
			locks:    []file{{".pulumi/locks/dev/c.json", lockFile("laptop", now.Add(-3*time.Hour))}},
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"Removing it. Its file: .pulumi/locks/dev/c.json"}},
		{name: "D12: file://~ is the home directory",
			backend: "file://~/state", args: []string{"dev"},
			locks:    []file{{projectLocks + "d.json", lockFile("laptop", now.Add(-3*time.Hour))}},
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"Removing it"}},
		{name: "D12: s3 with region, profile and endpoint; the stale lock deleted by its key",
			backend: "s3://state/team?region=eu-west-1&profile=ci&endpoint=minio.local:9000", args: []string{"dev"},
			locks:    []file{{projectLocks + "e.json", lockFile("laptop", now.Add(-3*time.Hour))}},
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"Removing it"},
			wantAWS: "--region eu-west-1 --profile ci --endpoint-url https://minio.local:9000 s3api delete-object --bucket state --key team/" + projectLocks + "e.json"},
		{name: "D12: an AWS CLI error is shown and stops the job",
			backend: "s3://state?region=eu-west-1", args: []string{"dev"}, deny: true,
			state:    exportedState(stackURN, ""),
			wantCode: 1, wantSaid: []string{"AccessDenied", "could not list its locks"}},
		{name: "D3: a pending create prints an import command of URN and ID pairs, and the clear command",
			backend: "file://ROOT", args: []string{"dev"},
			state:    exportedState(stackURN, configMap),
			wantCode: 1, wantSaid: []string{"import-command: pulumi refresh", "clear-command: pulumi refresh --stack dev --yes --clear-pending-creates"},
			wantImport: []string{"refresh", "--stack", "dev", "--yes",
				"--import-pending-creates", "urn:pulumi:dev::locust-eks::locust:index:LocustCluster$kubernetes:core/v1:ConfigMap::locustfiles",
				"--import-pending-creates", "locust/locustfiles-x1y2z3", "--"}},
		{name: "D13: a replacement names the new object to delete and the live one to keep",
			backend: "file://ROOT", args: []string{"dev"},
			state:    exportedState(stackURN+","+liveCluster, newCluster),
			wantCode: 1, wantSaid: []string{"locust-eksCluster-2222222", "ID locust-eksCluster-1111111: keep"},
			wantNot: []string{"import-command: pulumi refresh --stack dev --yes --import-pending-creates urn:pulumi:dev::locust-eks::eks:index:Cluster"}},
		{name: "pending updates only: the up goes on",
			backend: "file://ROOT", args: []string{"dev"},
			state:    exportedState(stackURN, pendingEdit),
			wantCode: 0, wantSaid: []string{"the up's refresh reads the real state"}},
		{name: "D4: on s3, an export error gets no restore advice",
			backend: "s3://state?region=eu-west-1", args: []string{"dev"},
			exportErr: "error: failed to load checkpoint: operation error S3: HeadObject, https response error StatusCode: 403, api error Forbidden",
			wantCode:  1, wantSaid: []string{"pulumi stack export failed", "StatusCode: 403"},
			wantNot: []string{".bak", "previous version", "put it back"}},
		{name: "D4: on file://, a cut checkpoint: compare with the backup, then put it back",
			backend: "file://ROOT", args: []string{"dev"},
			exportErr: "error: failed to load checkpoint: EOF",
			wantCode:  1, wantSaid: []string{"diff ", "dev.json.bak", "cp "}},
		{name: "D4: on file://, a permission error gets no restore advice",
			backend: "file://ROOT", args: []string{"dev"},
			exportErr: "error: failed to load checkpoint: open /state/.pulumi/stacks/locust-eks/dev.json: permission denied",
			wantCode:  1, wantSaid: []string{"permission denied"}, wantNot: []string{".bak"}},
		{name: "no stack yet", backend: "file://ROOT", args: []string{"dev"},
			exportErr: "error: no stack named 'dev' found", wantCode: 0, wantSaid: []string{"nothing to recover"}},
		{name: "D1: after the destroy, pending creates fail the job, named with their tags",
			backend: "file://ROOT", args: []string{"--after-destroy", "dev"},
			state:    exportedState("", natGateway),
			wantCode: 1, wantSaid: []string{"locust-nat-0", "on AWS, tagged stack=dev project=locust-eks", "resourcegroupstaggingapi get-resources"}},
		{name: "D1: after the destroy, resources still in the state fail the job",
			backend: "file://ROOT", args: []string{"--after-destroy", "dev"},
			state:    exportedState(liveCluster, ""),
			wantCode: 1, wantSaid: []string{"Resources still in the state", clusterURN}},
		{name: "cost 2 on Pulumi Cloud: this run's update in progress is cancelled before the destroy",
			backend: "", args: []string{"--dead-host", "", "--before", "destroy", "--dead-run", "4242", "dev"},
			history: updateHistory("in-progress", "4242"), state: exportedState(stackURN, natGateway),
			wantCode: 0, wantSaid: []string{"was started by this workflow run (4242)", "cancelling it", "the destroy goes on"}, wantCancel: true},
		{name: "on Pulumi Cloud, another run's update in progress stays",
			backend: "", args: []string{"--before", "destroy", "--dead-run", "4242", "dev"},
			history: updateHistory("in-progress", "4300"), state: exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"an operation (update) is in progress on Pulumi Cloud, started by run 4300, not by this run (4242): it stays"}},
		{name: "on Pulumi Cloud, this run's finished update: nothing to cancel",
			backend: "", args: []string{"--before", "destroy", "--dead-run", "4242", "dev"},
			history: updateHistory("failed", "4242"), state: exportedState(stackURN, ""),
			wantCode: 0, wantNot: []string{"cancelling"}},
		{name: "on Pulumi Cloud, an update in progress with no CI run recorded stays, named so",
			backend: "", args: []string{"--before", "destroy", "--dead-run", "4242", "dev"},
			history:  `[{"version":0,"kind":"update","startTime":"2026-12-07T10:00:00Z","message":"","environment":{"exec.kind":"cli"},"config":{},"result":"in-progress"}]`,
			state:    exportedState(stackURN, ""),
			wantCode: 0, wantSaid: []string{"an operation (update) is in progress on Pulumi Cloud, started by no workflow run, not by this run (4242): it stays"}},
		{name: "on Pulumi Cloud without --dead-run, nothing is cancelled",
			backend: "", args: []string{"--before", "destroy", "dev"},
			history: updateHistory("in-progress", "4242"), state: exportedState(stackURN, ""),
			wantCode: 0, wantNot: []string{"cancelling"}},
		{name: "after a clean destroy: nothing left",
			backend: "file://ROOT", args: []string{"--after-destroy", "dev"},
			state:    exportedState("", ""),
			wantCode: 0, wantSaid: []string{"left nothing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, home, work := t.TempDir(), t.TempDir(), t.TempDir()
			fakePulumi(t, dir)
			fakeAWS(t, dir)
			if err := os.WriteFile(filepath.Join(work, "Pulumi.yaml"), []byte("name: locust-eks\nruntime: go\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			backend := strings.Replace(tc.backend, "ROOT", filepath.Join(dir, "state"), 1)
			root := filepath.Join(dir, "state")
			switch {
			case strings.HasPrefix(tc.backend, "file://~"):
				root = filepath.Join(home, "state")
			case strings.HasPrefix(tc.backend, "s3://"):
				bucketPath := strings.SplitN(strings.TrimPrefix(strings.SplitN(tc.backend, "?", 2)[0], "s3://"), "/", 2)
				root = filepath.Join(dir, "s3", bucketPath[0])
				if len(bucketPath) == 2 {
					root = filepath.Join(root, bucketPath[1])
				}
			}
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.locks {
				p := filepath.Join(root, l.path)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(l.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.exportErr != "" {
				os.WriteFile(filepath.Join(dir, "export.err"), []byte(tc.exportErr+"\n"), 0o644)
			}
			os.WriteFile(filepath.Join(dir, "state.json"), []byte(tc.state), 0o644)
			if tc.history != "" {
				os.WriteFile(filepath.Join(dir, "history.json"), []byte(tc.history), 0o644)
			}
			if tc.deny {
				os.WriteFile(filepath.Join(dir, "deny"), nil, 0o644)
			}
			cmd := exec.Command("bash", append([]string{script}, tc.args...)...)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "HOME="+home, "PULUMI_BACKEND_URL="+backend)
			out, err := cmd.CombinedOutput()
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			said := string(out)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, tc.wantCode, said)
			}
			for _, want := range tc.wantSaid {
				if !strings.Contains(said, want) {
					t.Errorf("the script did not say %q:\n%s", want, said)
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(said, not) {
					t.Errorf("the script said %q:\n%s", not, said)
				}
			}
			var left []string
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.Contains(p, ".pulumi/locks/") {
					rel, _ := filepath.Rel(root, p)
					left = append(left, rel)
				}
				return nil
			})
			if !slices.Equal(left, tc.wantLocks) {
				t.Errorf("locks left %v, want %v:\n%s", left, tc.wantLocks, said)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			switch cancelled := strings.Contains(string(calls), "cancel\n--yes\n--stack\ndev\n"); {
			case tc.wantCancel && !cancelled:
				t.Errorf("the script did not run pulumi cancel --yes --stack dev; its calls:\n%s", calls)
			case !tc.wantCancel && strings.Contains(string(calls), "cancel"):
				t.Errorf("the script ran pulumi cancel (on a self-managed backend it deletes every lock of the stack):\n%s", calls)
			}
			if tc.wantImport != nil {
				var line string
				for _, l := range strings.Split(said, "\n") {
					if rest, ok := strings.CutPrefix(l, "import-command: "); ok {
						line = rest
					}
				}
				run := exec.Command("bash", "-c", line)
				run.Env = cmd.Env
				if out, err := run.CombinedOutput(); err != nil {
					t.Fatalf("the import-command line %q: %v\n%s", line, err, out)
				}
				calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
				if got := strings.Split(strings.TrimSuffix(string(calls), "\n"), "\n"); !slices.Equal(got, tc.wantImport) {
					t.Errorf("the import-command line %q runs pulumi with %q, want %q", line, got, tc.wantImport)
				}
			}
			if tc.wantAWS != "" {
				if calls, _ := os.ReadFile(filepath.Join(dir, "aws-calls")); !strings.Contains(string(calls), tc.wantAWS) {
					t.Errorf("no AWS CLI call %q among:\n%s", tc.wantAWS, calls)
				}
			}
		})
	}
}

// hostLegs runs the up job's host step as the runner would, for legs 0 to
// n-1 on a runner of kind: on a GitHub-hosted runner (runner.environment
// github-hosted: GitHub docs, "Contexts", runner context) each leg exports
// its host name under its own index (strategy.job-index); on a self-hosted
// one, whose host name other runners on the machine may share (review 27,
// finding 5), none does, so no lock of that name is taken for dead. It
// returns each leg's step outputs. A stand-in hostname names each leg's
// runner runner-<leg>.
func hostLegs(t *testing.T, s step, kind string, n int) []map[string]string {
	t.Helper()
	if s.Env["RUNNER_KIND"] != "${{ runner.environment }}" || s.Env["LEG"] != "${{ strategy.job-index }}" {
		t.Fatalf("the host step's RUNNER_KIND is %q and LEG %q; want runner.environment and strategy.job-index", s.Env["RUNNER_KIND"], s.Env["LEG"])
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "hostname"), []byte("#!/bin/sh\necho \"runner-$LEG\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var legs []map[string]string
	for leg := range n {
		output := filepath.Join(t.TempDir(), "output")
		cmd := exec.Command("bash", "-e", "-c", s.Run)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"RUNNER_KIND="+kind, "LEG="+fmt.Sprint(leg), "GITHUB_OUTPUT="+output)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the host step of leg %d on a %s runner: %v\n%s", leg, kind, err, out)
		}
		got, _ := os.ReadFile(output)
		outputs := map[string]string{}
		for _, line := range strings.Fields(string(got)) {
			k, v, _ := strings.Cut(line, "=")
			outputs[k] = v
		}
		legs = append(legs, outputs)
	}
	return legs
}

// jobOutputs are a matrix job's outputs as the needs context holds them:
// each leg's outputs evaluated from its steps' (only the form
// ${{ steps.ID.outputs.NAME }} is read here), an empty one not sent
// (actions/runner src/Runner.Worker/JobExtension.cs@0009633e, FinalizeJob:
// "Skip output ... since it's empty"), and the legs' combined
// (docs.github.com, "Passing information between jobs", Using job outputs
// in a matrix job).
func jobOutputs(t *testing.T, outputs map[string]string, stepID string, legs []map[string]string) map[string]string {
	t.Helper()
	form := regexp.MustCompile(`^\$\{\{ steps\.` + regexp.QuoteMeta(stepID) + `\.outputs\.([a-z0-9-]+) \}\}$`)
	combined := map[string]string{}
	for _, leg := range legs {
		for key, expr := range outputs {
			m := form.FindStringSubmatch(expr)
			if m == nil {
				t.Fatalf("output %s is %q; this test reads ${{ steps.%s.outputs.NAME }}", key, expr, stepID)
			}
			if v := leg[m[1]]; v != "" {
				combined[key] = v
			}
		}
	}
	return combined
}

// TestCampaignDestroysAfterAnInterruptedUp: a campaign cancelled or timed
// out during its up leaves the DIY lock of its up leg's runner (killed at
// the job's end: actions/runner JobExtension.cs, "Terminate orphan
// process") and pending creates. Before, the destroy job kept the lock as
// too young and stopped on the pending creates, so the half-built cluster
// kept billing. Now each up leg exports its host name under its own
// index, the destroy leg of the same stack deletes that host's lock,
// destroys despite pending creates (the step before may fail without
// skipping it) and then fails listing what is left. The up creates a
// missing stack (upsert), as the deploy does.
func TestCampaignDestroysAfterAnInterruptedUp(t *testing.T) {
	w := readWorkflow(t, "campaign.yml")
	up, destroy := w.Jobs["up"], w.Jobs["destroy"]
	// One output per leg a set may have, host-0 to host-<MaxStacks-1>.
	var keys []string
	for i := range campaign.MaxStacks {
		keys = append(keys, fmt.Sprintf("host-%d", i))
	}
	if got := slices.Sorted(maps.Keys(up.Outputs)); !slices.Equal(got, keys) {
		t.Errorf("the up job's outputs are %v; want %v, one per leg of the largest set (internal/campaign.MaxStacks %d)", got, keys, campaign.MaxStacks)
	}
	exported, ups := -1, -1
	var hostStep step
	for i, s := range up.Steps {
		if s.ID == "host" {
			exported, hostStep = i, s
		}
		if s.With["command"] == "up" {
			ups = i
			if s.With["upsert"] != "true" || s.With["stack-name"] != "${{ matrix.stack }}" {
				t.Errorf("campaign's up: upsert %q, stack %q; want upsert (on a backend without the stack it fails with \"no stack named\") of the leg's stack", s.With["upsert"], s.With["stack-name"])
			}
		}
	}
	if exported < 0 || ups < exported {
		t.Fatalf("the up job does not export its host name before its up (step %d, up %d)", exported, ups)
	}

	var check step
	checkAt, destroyed, report := -1, -1, -1
	for i, s := range destroy.Steps {
		switch {
		case strings.Contains(s.Run, "recover-interrupted.sh --dead-host \"$UP_HOST\" --before destroy"):
			checkAt, check = i, s
			if !s.ContinueOnError {
				t.Error("the lock check: a failure would skip the destroy; want continue-on-error")
			}
		case s.With["command"] == "destroy":
			destroyed = i
			if !s.ContinueOnError {
				t.Error("a failed destroy would skip the step that lists what is left")
			}
		case strings.Contains(s.Run, "recover-interrupted.sh --after-destroy"):
			report = i
			if destroyed < 0 || s.Env["DESTROY"] != "${{ steps."+destroy.Steps[destroyed].ID+".outcome }}" || !strings.Contains(s.Run, "exit") {
				t.Errorf("the last step does not fail the job on a failed destroy: env %v", s.Env)
			}
		}
	}
	if checkAt < 0 || destroyed < checkAt || report < destroyed {
		t.Fatalf("destroy job: lock check at step %d, destroy at %d, report at %d; want them in that order", checkAt, destroyed, report)
	}

	// Leg i of the destroy job reads the host of leg i of the up job: the
	// two matrices are one list (TestCampaignAlwaysDestroys), and
	// strategy.job-index numbers the legs in its order.
	index := regexp.MustCompile(`^\$\{\{ needs\.up\.outputs\[format\('(host-)\{0\}', strategy\.job-index\)\] \}\}$`).FindStringSubmatch(check.Env["UP_HOST"])
	if index == nil {
		t.Fatalf("the lock check's UP_HOST is %q; want the up job's output of this leg's index", check.Env["UP_HOST"])
	}
	for _, n := range []int{1, 2, campaign.MaxStacks} {
		hosts := jobOutputs(t, up.Outputs, hostStep.ID, hostLegs(t, hostStep, "github-hosted", n))
		for leg := range n {
			if got, want := hosts[fmt.Sprintf("%s%d", index[1], leg)], fmt.Sprintf("runner-%d", leg); got != want {
				t.Errorf("a set of %d stacks: destroy leg %d clears the lock of host %q; want its up leg's, %q (the up job's outputs: %v)", n, leg, got, want, hosts)
			}
		}
	}
	if hosts := jobOutputs(t, up.Outputs, hostStep.ID, hostLegs(t, hostStep, "self-hosted", 2)); len(hosts) != 0 {
		t.Errorf("up legs on self-hosted runners export %v; want no host, whose locks may be another job's", hosts)
	}
}

// TestDeployJobsGuardAndMarkTheirDeploys: each deploy job first checks,
// inside its concurrency group, that its stack does not already run a newer
// commit (D6: an older run's job waiting in the group would otherwise roll
// back a newer deploy), runs nothing of the deploy when it does, and marks
// its environment's deployment with a URL only once its up succeeded, the
// one sign deployable-changes.sh counts (D5: load tests, campaigns,
// destroys and the reaper use the same environments). prod follows only
// a dev that deployed.
func TestDeployJobsGuardAndMarkTheirDeploys(t *testing.T) {
	var raw struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Environment struct {
				URL string `yaml:"url"`
			} `yaml:"environment"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, ".github/workflows/deploy.yml")), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Permissions["deployments"] != "read" {
		t.Errorf("deploy.yml permissions %v: the guard needs deployments: read", raw.Permissions)
	}
	w := readWorkflow(t, "deploy.yml")
	for name, j := range w.Jobs {
		guard, marked := -1, ""
		for i, s := range j.Steps {
			if strings.Contains(s.Run, `deployable-changes.sh --guard "$GITHUB_SHA" `+name) {
				guard = i
				continue
			}
			if guard < 0 {
				// Before the guard: the main-only check and the checkout.
				if s.If != "github.ref != 'refs/heads/main'" && !strings.HasPrefix(s.Uses, "actions/checkout@") {
					t.Errorf("deploy.yml %s: step %q runs before the guard", name, s.Uses+s.Run)
				}
				continue
			}
			if s.If != "steps.guard.outputs.deploy == 'true'" {
				t.Errorf("deploy.yml %s: step %q after the guard runs if %q; want only when the guard says deploy", name, s.Uses+s.Run, s.If)
			}
			if strings.Contains(s.Run, "#pulumi-up") && strings.Contains(s.Run, "GITHUB_OUTPUT") {
				marked = s.ID
			}
		}
		if guard < 0 {
			t.Errorf("deploy.yml %s: no deployable-changes.sh --guard step", name)
		}
		if want := "${{ steps." + marked + ".outputs.url }}"; marked == "" || raw.Jobs[name].Environment.URL != want {
			t.Errorf("deploy.yml %s: environment url %q; want %q, set by a last step after the up", name, raw.Jobs[name].Environment.URL, want)
		}
	}
	if prod := w.Jobs["prod"]; prod.If != "needs.dev.outputs.deploy == 'true'" || w.Jobs["dev"].Outputs["deploy"] != "${{ steps.guard.outputs.deploy }}" {
		t.Errorf("prod runs if %q with dev's outputs %v; want it only after dev deployed", prod.If, w.Jobs["dev"].Outputs)
	}
	var test struct {
		Jobs map[string]struct {
			Uses        string            `yaml:"uses"`
			Permissions map[string]string `yaml:"permissions"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, ".github/workflows/test.yml")), &test); err != nil {
		t.Fatal(err)
	}
	for name, j := range test.Jobs {
		if j.Uses == "./.github/workflows/deploy.yml" && j.Permissions["deployments"] != "read" {
			t.Errorf("test.yml %s calls deploy.yml with permissions %v; a called workflow gets no more than its caller's, and the guard needs deployments: read", name, j.Permissions)
		}
	}
	if doc := readFile(t, "docs/ci.md"); !strings.Contains(doc, "`deployments: read`") {
		t.Error("docs/ci.md's list of workflow permissions lacks deployments: read")
	}
}

// TestPipedStepsFailOnAFailingCommand: a step without a shell runs under
// `bash -e {0}` on a runner and `sh -e {0}` in a container, neither with
// pipefail (GitHub's workflow syntax, defaults.run.shell and
// jobs.<job_id>.steps[*].shell), so `script | tee` is green when the script
// fails (D10). Every step that pipes must run under `shell: bash` (bash
// --noprofile --norc -eo pipefail {0}), its own or its workflow's default.
func TestPipedStepsFailOnAFailingCommand(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(projectDir, ".github/workflows/*.yml"))
	for _, f := range files {
		name := filepath.Base(f)
		var w struct {
			Defaults struct {
				Run struct {
					Shell string `yaml:"shell"`
				} `yaml:"run"`
			} `yaml:"defaults"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, ".github/workflows/"+name)), &w); err != nil {
			t.Fatal(err)
		}
		for jobName, j := range readWorkflow(t, name).Jobs {
			for _, s := range j.Steps {
				shell := s.Shell
				if shell == "" {
					shell = w.Defaults.Run.Shell
				}
				if regexp.MustCompile(`[^|]\|[^|]`).MatchString(s.Run) && shell != "bash" && !strings.Contains(s.Run, "pipefail") {
					t.Errorf("%s %s: %q pipes without pipefail (shell %q)", name, jobName, s.Run, shell)
				}
			}
		}
	}
}

// TestDeployPathsCoverTheProgram: deployable-changes.sh decides a deploy
// from a list of paths; a package the program imports that the list lacks
// never deploys (D11: internal/stackexpiry). Every package of this module
// that `go list -deps .` names must sit under a listed path.
func TestDeployPathsCoverTheProgram(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "..").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	script := readFile(t, ".github/scripts/deployable-changes.sh")
	m := regexp.MustCompile(`(?m)^paths=\(([^)]*)\)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("deployable-changes.sh has no paths=(...) list")
	}
	var paths []string
	for _, p := range strings.Fields(m[1]) {
		paths = append(paths, strings.Trim(p, "'"))
	}
	const module = "github.com/locust-eks/locust-on-eks"
	for _, pkg := range strings.Fields(string(out)) {
		dir, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			continue
		}
		covered := false
		for _, p := range paths {
			covered = covered || dir == p || strings.HasPrefix(dir, p+"/")
		}
		if !covered {
			t.Errorf("the program imports %s, which deployable-changes.sh's paths %v do not cover: a change there would never deploy", pkg, paths)
		}
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
v=$(echo "$stack" | tr - _); out=REAPER_$v code=REAPER_EXIT_$v
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
if [ "${role##*/}" = "$AWS_REFUSE_ROLE" ]; then echo "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity" >&2; exit 254; fi
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
		// notInLog is what the log must not hold.
		notInLog string
	}{
		{"nothing has a time to live", "[]", roles, "false", nil, "[]", "", ""},
		{"prod kept: its reviewers are not asked", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: would destroy: expired 2026-12-02T09:00:00Z, 1h0m0s ago", "REAPER_prod=prod: kept: expires 2026-12-03T09:00:00Z, in 23h0m0s"}, `["dev"]`, "", ""},
		{"both expired", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: would destroy: expired x", "REAPER_prod=prod: would destroy: expired y"}, `["dev","prod"]`, "", ""},
		{"a dry run reaps nothing", `["dev","prod"]`, roles, "true",
			[]string{"REAPER_dev=dev: would destroy: expired x", "REAPER_prod=prod: would destroy: expired y"}, "[]", "", ""},
		{"one not decided, the other still reaped", `["dev","prod"]`, roles, "false",
			[]string{"REAPER_dev=dev: not handled: 3 resources and ttlHours \"8\" in its stack file, but no up recorded an expiry", "REAPER_EXIT_dev=1",
				"REAPER_prod=prod: would destroy: expired y"}, `["prod"]`, "dev", ""},
		// A GitHub variable's name holds letters, digits and _ only.
		{"a stack named with a hyphen", `["dev-use1"]`, `{"AWS_PREVIEW_ROLE_ARN_DEV_USE1": "arn:aws:iam::123456789012:role/preview-dev-use1"}`, "false",
			[]string{"REAPER_dev_use1=dev-use1: would destroy: expired x"}, `["dev-use1"]`, "", ""},
		{"no preview role", `["dev","prod"]`, `{"AWS_PREVIEW_ROLE_ARN_DEV": "arn:aws:iam::123456789012:role/preview-dev"}`, "false",
			[]string{"REAPER_dev=dev: would destroy: expired x"}, `["dev"]`, "prod", ""},
		// The role refused: the stack fails there, and its reaper never
		// runs without credentials (the stand-in would say "not handled:
		// credentials").
		{"a preview role refused", `["dev","prod"]`, roles, "false",
			[]string{"AWS_REFUSE_ROLE=preview-prod", "REAPER_dev=dev: would destroy: expired x", "REAPER_prod=prod: would destroy: expired y"}, `["dev"]`, "prod",
			"prod: not handled: credentials"},
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
			// The job summary is no log: a mask command there would carry
			// the secret itself into it.
			if sum, _ := os.ReadFile(summary); strings.Contains(string(sum), "::add-mask::") {
				t.Errorf("the job summary holds the credentials' mask commands:\n%s", sum)
			}
			if tc.notInLog != "" && strings.Contains(string(out), tc.notInLog) {
				t.Errorf("the log holds %q:\n%s", tc.notInLog, out)
			}
		})
	}
}
