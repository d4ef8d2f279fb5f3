package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/exitcodes"
)

// TestRun: a set prints its stacks in its file's order and its file, a
// stack prints itself alone; a name that resolves to nothing is refused
// with exit 1 and the reason; a mistake in the arguments exits 2.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"dev", "dev-use1", "dev-euw1"} {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+s+".yaml"), []byte("config: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "campaigns"), 0o755); err != nil {
		t.Fatal(err)
	}
	set := "stacks:\n  - stack: dev-use1\n    share: 60\n  - stack: dev-euw1\n    share: 40\n"
	if err := os.WriteFile(filepath.Join(dir, "campaigns", "dev-regions.yaml"), []byte(set), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // equal
		stderr string // contained, "" for nothing at all
	}{
		{[]string{"dev-regions"}, exitPrinted, `{"stacks":["dev-use1","dev-euw1"],"campaign":"campaigns/dev-regions.yaml"}` + "\n", ""},
		{[]string{"dev"}, exitPrinted, `{"stacks":["dev"],"campaign":""}` + "\n", ""},
		{[]string{"dev-use1"}, exitRefused, "", "campaignplan: stack dev-use1 belongs to the set dev-regions"},
		{[]string{"staging"}, exitRefused, "", "campaignplan: staging is neither a stack"},
		{[]string{}, exitCouldNotRun, "", "campaignplan: want one name, got 0 arguments"},
		{[]string{"dev", "prod"}, exitCouldNotRun, "", "campaignplan: want one name, got 2 arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, dir, &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.stdout || (tc.stderr == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr holding %q, stdout %q", code, stderr.String(), stdout.String(), tc.code, tc.stderr, tc.stdout)
			}
		})
	}
}

// TestHelp: -h prints the usage on stdout and exits 0; an unknown flag is
// named on stderr with a pointer to -h, exit 2.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"-h"}, exitPrinted, usage, ""},
		{[]string{"--help"}, exitPrinted, usage, ""},
		{[]string{"--set", "dev"}, exitCouldNotRun, "", "campaignplan: flag provided but not defined: -set\nRun 'campaignplan -h' for the usage.\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, t.TempDir(), &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.stdout || (tc.stderr == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit %d, stderr holding %q, stdout:\n%s", code, stderr.String(), stdout.String(), tc.code, tc.stderr, tc.stdout)
			}
		})
	}
}

// TestUsageListsEveryExitCode: the usage lists exactly the exit codes the
// command defines, and the code uses each of them.
func TestUsageListsEveryExitCode(t *testing.T) {
	src := exitcodes.Read(t, ".")
	if got, want := exitcodes.Listed(t, usage), src.Values(); !slices.Equal(got, want) {
		t.Errorf("the usage lists exit codes %v; the command defines %v", got, want)
	}
	for _, name := range src.Unused() {
		t.Errorf("%s is defined but no function uses it: return it where it applies, or remove it and its usage line", name)
	}
}
