package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/exitcodes"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// TestHelp: -h prints the usage on stdout and exits 0 without opening the
// project; a mistake in the arguments is named on stderr with a pointer to
// -h, exit 2; the flags reach the reap.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		code         int
		stdout       string // contained, "" for nothing at all
		stderr       string // contained, "" for nothing at all
		openFails    bool
		expiredStack bool
	}{
		{args: []string{"-h"}, code: exitOK, stdout: "reaper destroys the stacks"},
		{args: []string{"-help"}, code: exitOK, stdout: "\nExit codes:\n"},
		{args: []string{"--help"}, code: exitOK, stdout: "  -dry-run\n"},
		{args: []string{"--dry-run", "-h"}, code: exitOK, stdout: "\tgo run ./cmd/reaper --dry-run\n"},
		{args: []string{"--bogus"}, code: exitCouldNotRun, stderr: "reaper: flag provided but not defined: -bogus\nRun 'reaper -h' for the usage.\n"},
		{args: []string{"dev"}, code: exitCouldNotRun, stderr: `"dev" is no flag`},
		{args: []string{"--now", "tomorrow"}, code: exitCouldNotRun, stderr: `--now "tomorrow": want a time like`},
		{args: []string{"--dir", "elsewhere"}, code: exitCouldNotRun, stderr: "opening the project in elsewhere: no Pulumi.yaml", openFails: true},
		{args: []string{"--dry-run", "--now", "2026-12-04T00:00:00Z", "--stack", "dev"}, code: exitOK, stdout: "dev: would destroy: expired 2026-12-03T10:00:00Z", expiredStack: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			b := &fakeBackend{stacks: map[string]*fakeStack{"dev": {outputs: auto.OutputMap{"expiresAt": {Value: "2026-12-03T10:00:00Z"}}}}}
			opened := false
			open := func(_ context.Context, dir string) (backend, error) {
				opened = true
				if tc.openFails {
					return nil, errors.New("no Pulumi.yaml")
				}
				return b, nil
			}
			var stdout, stderr strings.Builder
			code := run(context.Background(), tc.args, &stdout, &stderr, open)
			for _, s := range []struct{ name, got, want string }{{"stdout", stdout.String(), tc.stdout}, {"stderr", stderr.String(), tc.stderr}} {
				if (s.want == "" && s.got != "") || !strings.Contains(s.got, s.want) {
					t.Errorf("%s:\n%s\nwant it to hold %q", s.name, s.got, s.want)
				}
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if wantOpened := tc.openFails || tc.expiredStack; opened != wantOpened {
				t.Errorf("the project was opened: %v; want %v", opened, wantOpened)
			}
			if tc.expiredStack && b.stacks["dev"].destroyed {
				t.Error("--dry-run destroyed the stack")
			}
		})
	}
}

// TestUsageListsEveryExitCode: the usage lists exactly the exit codes the
// command defines, and the code uses each of them.
func TestUsageListsEveryExitCode(t *testing.T) {
	var stdout strings.Builder
	if code := run(context.Background(), []string{"-h"}, &stdout, &strings.Builder{}, nil); code != exitOK {
		t.Fatalf("-h: exit %d", code)
	}
	src := exitcodes.Read(t, ".")
	if got, want := exitcodes.Listed(t, stdout.String()), src.Values(); !slices.Equal(got, want) {
		t.Errorf("the usage lists exit codes %v; the command defines %v", got, want)
	}
	for _, name := range src.Unused() {
		t.Errorf("%s is defined but no function uses it: return it where it applies, or remove it and its usage line", name)
	}
}
