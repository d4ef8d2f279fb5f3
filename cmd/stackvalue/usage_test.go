package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/exitcodes"
)

// TestHelp: -h prints the usage on stdout and exits 0; a mistake in the
// arguments is named on stderr with a pointer to -h, exit 2.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // equal
		stderr string // contained, "" for nothing at all
	}{
		{[]string{"-h"}, exitPrinted, usage, ""},
		{[]string{"-help"}, exitPrinted, usage, ""},
		{[]string{"--help"}, exitPrinted, usage, ""},
		{[]string{"-h", "Pulumi.dev.yaml", "aws:region"}, exitPrinted, usage, ""},
		{[]string{"Pulumi.dev.yaml"}, exitCouldNotRun, "", "stackvalue: want a stack file and a key, got 1 arguments"},
		{[]string{"--region", "Pulumi.dev.yaml", "aws:region"}, exitCouldNotRun, "", "stackvalue: flag provided but not defined: -region\nRun 'stackvalue -h' for the usage.\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
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
