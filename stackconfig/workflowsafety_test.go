package stackconfig

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployCredentialsOnlyFromMain: deploy, destroy and loadtest can be
// started by hand from any branch ("Use workflow from"); with the
// environment's deploy role, an unreviewed branch's program or command
// would run against prod. Each job that assumes a role fails first, loudly,
// off main.
func TestDeployCredentialsOnlyFromMain(t *testing.T) {
	for _, name := range []string{"deploy.yml", "destroy.yml", "loadtest.yml", "reaper.yml", "campaign.yml"} {
		for jobName, j := range readWorkflow(t, name).Jobs {
			usesSetup := false
			for _, s := range j.Steps {
				usesSetup = usesSetup || s.Uses == "./.github/actions/pulumi-setup"
			}
			if !usesSetup {
				continue
			}
			first := j.Steps[0]
			if first.If != "github.ref != 'refs/heads/main'" || !strings.Contains(first.Run, "exit 1") || !strings.Contains(first.Run, "::error::") {
				t.Errorf("%s %s: the first step is %+v; want one that fails with an error when the run is not on main", name, jobName, first)
			}
		}
	}
}

// pinnedUse is how a remote action must be referenced: by full commit, the
// version in a comment (GitHub's security hardening guide: a tag can be
// moved, a commit cannot).
var pinnedUse = regexp.MustCompile(`^\s*-?\s*uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*\s*$`)

// TestActionsPinnedByCommit: every remote action, pulumi/actions included,
// is pinned by commit.
func TestActionsPinnedByCommit(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(projectDir, ".github/workflows/*.yml"))
	more, _ := filepath.Glob(filepath.Join(projectDir, ".github/actions/*/action.yml"))
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %d workflow files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			trimmed := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-"))
			if !strings.HasPrefix(trimmed, "uses:") || strings.Contains(trimmed, "./.github/") {
				continue
			}
			if !pinnedUse.MatchString(line) {
				t.Errorf("%s:%d: %q is not pinned by commit with its version in a comment", filepath.Base(f), i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestDeployChecksForAnInterruptedUpdate: each deploy job runs
// recover-interrupted.sh on its stack before its up (the script itself runs
// against the real CLI and state in TestEndToEnd).
func TestDeployChecksForAnInterruptedUpdate(t *testing.T) {
	for jobName, j := range readWorkflow(t, "deploy.yml").Jobs {
		check, up := -1, -1
		for i, s := range j.Steps {
			if strings.Contains(s.Run, "recover-interrupted.sh "+jobName) {
				check = i
			}
			if strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] == "up" {
				up = i
			}
		}
		if check < 0 || up < 0 || check > up {
			t.Errorf("deploy.yml %s: recover-interrupted.sh %s at step %d, up at step %d; want the check before the up", jobName, jobName, check, up)
		}
	}
}
