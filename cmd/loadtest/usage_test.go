package main

import (
	"bytes"
	"context"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/exitcodes"
)

// usageOf is a usage as the command prints it.
func usageOf(u usageText) string {
	var b bytes.Buffer
	u.write(&b)
	return b.String()
}

// TestUsageListsEverySubcommand: every subcommand the dispatcher knows has
// its line in loadtest's usage and a usage of its own that names it.
func TestUsageListsEverySubcommand(t *testing.T) {
	top := usageOf(mainUsage())
	for _, sc := range subcommands() {
		line := regexp.MustCompile(`(?m)^\t` + regexp.QuoteMeta(sc.name) + ` +(\S.*)$`).FindStringSubmatch(top)
		if line == nil || sc.summary == "" || line[1] != sc.summary {
			t.Errorf("loadtest's usage has no line for %s with its summary %q:\n%s", sc.name, sc.summary, top)
		}
		if own := usageOf(sc.usage()); !strings.Contains(own, "\tloadtest "+sc.name) {
			t.Errorf("%s's usage shows no way to call it (\"\\tloadtest %s ...\"):\n%s", sc.name, sc.name, own)
		}
	}
}

// TestUsageListsEveryExitCode: loadtest's usage lists exactly the exit
// codes the package defines, and run returns each of them; each
// subcommand's usage lists exactly those its function returns.
func TestUsageListsEveryExitCode(t *testing.T) {
	src := exitcodes.Read(t, ".")
	values := src.Values()
	if got := exitcodes.Listed(t, usageOf(mainUsage())); !slices.Equal(got, values) {
		t.Errorf("loadtest's usage lists exit codes %v; the package defines %v", got, values)
	}
	if got := src.ReachedFrom(t, "run"); !slices.Equal(got, values) {
		t.Errorf("run returns exit codes %v; the package defines %v (a code defined and never returned is listed untruly)", got, values)
	}
	for _, sc := range subcommands() {
		// ".../cmd/loadtest.history" in a test binary, "main.history" in the command.
		qualified := runtime.FuncForPC(reflect.ValueOf(sc.run).Pointer()).Name()
		fn := qualified[strings.LastIndex(qualified, ".")+1:]
		want := src.ReachedFrom(t, fn)
		if got := exitcodes.Listed(t, usageOf(sc.usage())); !slices.Equal(got, want) {
			t.Errorf("%s's usage lists exit codes %v; %s returns %v", sc.name, got, fn, want)
		}
	}
}

// TestHelp: -h, -help, --help and `help` print the usage asked for on
// stdout and exit 0; a mistake in the arguments says what it was on
// stderr, points to -h, and exits 2.
func TestHelp(t *testing.T) {
	type call struct {
		args []string
		want string // the usage on stdout
	}
	top := usageOf(mainUsage())
	asks := []call{{[]string{"-h"}, top}, {[]string{"-help"}, top}, {[]string{"--help"}, top}, {[]string{"help"}, top},
		{[]string{"--stack", "dev", "--users", "3", "-h"}, top}}
	for _, sc := range subcommands() {
		own := usageOf(sc.usage())
		asks = append(asks, call{[]string{sc.name, "-h"}, own}, call{[]string{sc.name, "--help"}, own}, call{[]string{"help", sc.name}, own})
	}
	for _, c := range asks {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), c.args, &stdout, &stderr, func(string) string { return "" })
			if code != exitOK || stdout.String() != c.want || stderr.Len() > 0 {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit %d, nothing on stderr, and on stdout:\n%s", code, stderr.String(), stdout.String(), exitOK, c.want)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"--stack", "dev", "--no-such-flag"}, "loadtest: flag provided but not defined: -no-such-flag\nRun 'loadtest -h' for the usage.\n"},
		{[]string{"histroy", "--stack", "dev"}, `"histroy" is neither a flag nor a subcommand (the subcommands: history, compare, accept, help)`},
		{[]string{"help", "histroy"}, `no subcommand "histroy"`},
		{[]string{"help", "history", "compare"}, "give one subcommand, not 2"},
		{[]string{"history", "--last"}, "loadtest history: flag needs an argument: -last\nRun 'loadtest history -h' for the usage.\n"},
		{[]string{"history", "--stack", "dev", "dev"}, `"dev" is no flag`},
		{[]string{"history"}, "--stack is required"},
		{[]string{"compare", "results/dev/a"}, "loadtest compare: give two results folders"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, func(string) string { return "" })
			if code != exitCouldNotRun || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, %q on stderr", code, stdout.String(), stderr.String(), exitCouldNotRun, tc.want)
			}
		})
	}
}
