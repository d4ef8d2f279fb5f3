package stackconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deployment is one entry of GitHub's REST "List deployments" answer and
// its "List deployment statuses" entries, newest first, the fields the script reads
// (docs.github.com/en/rest/deployments/deployments#list-deployments,
// .../deployments/statuses#list-deployment-statuses).
type deployment struct {
	env    string
	commit string // a key of the test repository's commits
	state  string // error, failure, inactive, in_progress, queued, pending, success
	// by is the workflow whose job used the environment: "" for deploy.yml,
	// whose statuses carry its environment.url (environment_url) ending in
	// #pulumi-up; any other (loadtest, campaign, destroy, reaper) sets none,
	// and GitHub then gives environment_url as "".
	by string
}

// fakeGH writes a `gh` that answers `gh api <path> --jq <filter>` from the
// deployments given, in the REST API's JSON shapes, filtered by the real jq
// as gh's --jq does (raw strings out).
func fakeGH(t *testing.T, dir string, deployments []deployment, commits map[string]string) {
	t.Helper()
	answers := map[string]any{}
	lists := map[string][]map[string]any{}
	for i, d := range deployments {
		id := 1000 + i // later entries are newer, as GitHub numbers them
		sha := commits[d.commit]
		if sha == "" {
			sha = d.commit // a commit the repository does not have
		}
		lists[d.env] = append(lists[d.env], map[string]any{
			"id": id, "sha": sha, "ref": "main", "task": "deploy", "environment": d.env,
			"production_environment": d.env == "prod", "created_at": "2026-12-01T10:00:00Z",
		})
		url := ""
		if d.by == "" {
			url = fmt.Sprintf("https://github.com/o/r/actions/runs/%d#pulumi-up", 9000+i)
		}
		statuses := []map[string]any{
			{"id": 5000 + i, "state": d.state, "environment": d.env, "environment_url": url, "log_url": fmt.Sprintf("https://github.com/o/r/actions/runs/%d/job/1", 9000+i)},
		}
		// auto_inactive (REST "Create a deployment status", default true):
		// a later successful status in a non-production environment adds
		// "inactive", newest first, to every earlier deployment there that
		// had succeeded.
		if d.state == "success" && d.env != "prod" && slices.ContainsFunc(deployments[i+1:], func(later deployment) bool {
			return later.env == d.env && later.state == "success"
		}) {
			statuses = append([]map[string]any{{"id": 7000 + i, "state": "inactive", "environment": d.env, "environment_url": "", "log_url": ""}}, statuses...)
		}
		answers[fmt.Sprintf("repos/o/r/deployments/%d/statuses?per_page=100", id)] = statuses
	}
	for _, env := range []string{"dev", "prod"} {
		list := lists[env]
		if list == nil {
			list = []map[string]any{}
		}
		answers["repos/o/r/deployments?environment="+env+"&per_page=100"] = list
	}
	for path, answer := range answers {
		b, _ := json.Marshal(answer)
		name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_").Replace(path)
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/usr/bin/env bash
set -euo pipefail
[[ "$1" == api && "$3" == --jq ]] || { echo "fake gh: unexpected call: $*" >&2; exit 64; }
name=$(printf '%s' "$2" | tr '/?&=' '____')
file="` + dir + `/$name.json"
[[ -f "$file" ]] || { echo "fake gh: no answer for $2" >&2; exit 1; }
jq -r "$4" "$file"
`
	if err := os.WriteFile(filepath.Join(dir, "gh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestDeployableChanges: a push deploys what an environment of the chain
// has not deployed yet, counted from its last successful deploy. Before,
// the changes job diffed the push's own before..after, so a change whose
// run was cancelled, failed or lost its deploy to a newer waiting one was
// never deployed; and an older run finishing late could roll back a newer
// deploy.
func TestDeployableChanges(t *testing.T) {
	for _, tool := range []string{"git", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (.ci/run deps installs it): %v", tool, err)
		}
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commits := map[string]string{}
	commit := func(key, file, content string) {
		path := filepath.Join(repo, file)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", key)
		commits[key] = git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	commit("program", "main.go", "package main\n")
	commit("readme", "README.md", "docs\n")
	commit("component", "components/cluster.go", "package components\n")
	commit("readme2", "README.md", "more docs\n")
	commit("locustfile", "locustfiles/shop.py", "# a test\n")

	script, err := filepath.Abs(filepath.Join(projectDir, ".github/scripts/deployable-changes.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		head        string
		deployments []deployment
		guard       bool // --guard HEAD dev: the deploy job's own check
		want        bool
		why         string // in the script's output
	}{
		{"never deployed", "readme", nil, false, true, "dev: no successful deploy recorded"},
		{"up to date", "readme2",
			[]deployment{{"dev", "component", "success", ""}, {"prod", "component", "success", ""}},
			false, false, "prod: no change to the program"},
		{"a dropped push's change is deployed by the next, a README edit", "readme2",
			[]deployment{{"dev", "readme", "success", ""}, {"prod", "readme", "success", ""}},
			false, true, "components/cluster.go"},
		{"prod behind dev (approval refused): deployed again", "readme2",
			[]deployment{{"dev", "component", "success", ""}, {"prod", "program", "success", ""}},
			false, true, "prod: deployable changes since " + "program"},
		{"a failed deploy is not a base", "readme2",
			[]deployment{{"dev", "component", "success", ""}, {"prod", "readme", "success", ""}, {"prod", "component", "failure", ""}},
			false, true, "components/cluster.go"},
		{"waiting for a reviewer is not deployed", "readme2",
			[]deployment{{"dev", "component", "success", ""}, {"prod", "program", "success", ""}, {"prod", "component", "queued", ""}},
			false, true, "prod: deployable changes"},
		{"an older run finishing late never rolls back", "component",
			[]deployment{{"dev", "locustfile", "success", ""}, {"prod", "program", "success", ""}},
			false, false, "newer than"},
		{"the head itself is deployed", "locustfile",
			[]deployment{{"dev", "locustfile", "success", ""}, {"prod", "locustfile", "success", ""}},
			false, false, "is already deployed"},
		{"history rewritten: deploy", "readme2",
			[]deployment{{"dev", "0123456789abcdef0123456789abcdef01234567", "success", ""}, {"prod", "component", "success", ""}},
			false, true, "not in"},
		// D5: a green load test after a red deploy is no deploy.
		{"a load test's use of the environment is not a deploy", "readme2",
			[]deployment{{"dev", "program", "success", ""}, {"prod", "program", "success", ""},
				{"dev", "component", "failure", ""}, {"dev", "component", "success", "loadtest"}},
			false, true, "dev: deployable changes since program"},
		// D6: in the deploy job, after waiting in the group.
		{"guard: a newer deploy finished while this one waited", "component",
			[]deployment{{"dev", "locustfile", "success", ""}},
			true, false, "newer than"},
		{"guard: an older deploy", "component",
			[]deployment{{"dev", "program", "success", ""}},
			true, true, "deploying"},
		{"guard: a newer load test is no deploy", "component",
			[]deployment{{"dev", "program", "success", ""}, {"dev", "locustfile", "success", "campaign"}},
			true, true, "deploying"},
		{"guard: never deployed", "component", nil, true, true, "last deployed: none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			fakeGH(t, bin, tc.deployments, commits)
			output := filepath.Join(t.TempDir(), "github_output")
			args := []string{script, commits[tc.head], "dev", "prod"}
			if tc.guard {
				args = []string{script, "--guard", commits[tc.head], "dev"}
			}
			cmd := exec.Command("bash", args...)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
				"GITHUB_REPOSITORY=o/r", "GITHUB_OUTPUT="+output)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got, _ := os.ReadFile(output)
			want := fmt.Sprintf("deploy=%t\n", tc.want)
			if string(got) != want {
				t.Errorf("GITHUB_OUTPUT %q, want %q; the script said:\n%s", got, want, out)
			}
			why := tc.why
			for key, sha := range commits {
				why = strings.ReplaceAll(why, "since "+key, "since "+sha)
			}
			if !strings.Contains(string(out), why) {
				t.Errorf("the script did not say %q:\n%s", why, out)
			}
		})
	}
	// A GitHub API call that fails (a 403, a rate limit) decides nothing:
	// read as "never deployed", it would deploy, an older commit included.
	for _, guard := range []bool{false, true} {
		bin := t.TempDir()
		fakeGH(t, bin, []deployment{{"dev", "program", "success", ""}}, commits)
		if err := os.Remove(filepath.Join(bin, "repos_o_r_deployments_environment_dev_per_page_100.json")); err != nil {
			t.Fatal(err)
		}
		output := filepath.Join(t.TempDir(), "github_output")
		args := []string{script, commits["readme2"], "dev", "prod"}
		if guard {
			args = []string{script, "--guard", commits["readme2"], "dev"}
		}
		cmd := exec.Command("bash", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GITHUB_REPOSITORY=o/r", "GITHUB_OUTPUT="+output)
		out, err := cmd.CombinedOutput()
		got, _ := os.ReadFile(output)
		if err == nil || strings.Contains(string(got), "deploy=true") || !strings.Contains(string(out), "not deciding") {
			t.Errorf("guard %v, the deployments list failing: exit %v, outputs %q; want a failure that decides nothing:\n%s", guard, err, got, out)
		}
	}
}
