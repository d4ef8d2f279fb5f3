package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	src := parsePackage(t)
	all := exitConstants(t, src)
	if len(all) == 0 {
		t.Fatal("no exit* constants found")
	}
	values := slices.Sorted(maps.Values(all))
	if got := listedExitCodes(t, usageOf(mainUsage())); !slices.Equal(got, values) {
		t.Errorf("loadtest's usage lists exit codes %v; the package defines %v", got, values)
	}
	if got := returnedExitCodes(t, src, all, "run"); !slices.Equal(got, values) {
		t.Errorf("run returns exit codes %v; the package defines %v (a code defined and never returned is listed untruly)", got, values)
	}
	for _, sc := range subcommands() {
		// ".../cmd/loadtest.history" in a test binary, "main.history" in the command.
		qualified := runtime.FuncForPC(reflect.ValueOf(sc.run).Pointer()).Name()
		fn := qualified[strings.LastIndex(qualified, ".")+1:]
		want := returnedExitCodes(t, src, all, fn)
		if got := listedExitCodes(t, usageOf(sc.usage())); !slices.Equal(got, want) {
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
		{[]string{"histroy", "--stack", "dev"}, `"histroy" is neither a flag nor a subcommand (the subcommands: history, compare, help)`},
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

// parsePackage parses the command's non-test files.
func parsePackage(t *testing.T) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// exitConstants are the package's constants named exit*, with their
// values, which must be written as numbers for this test to read them.
func exitConstants(t *testing.T, files []*ast.File) map[string]int {
	t.Helper()
	consts := map[string]int{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "exit") {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.INT {
						t.Fatalf("exit code %s: write it as a number, so the usage test can read it", name.Name)
					}
					consts[name.Name], _ = strconv.Atoi(lit.Value)
				}
			}
		}
	}
	return consts
}

// returnedExitCodes are the values of the exit constants the function fn
// names, or the package's functions it calls name, sorted.
func returnedExitCodes(t *testing.T, files []*ast.File, consts map[string]int, fn string) []int {
	t.Helper()
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	if funcs[fn] == nil {
		t.Fatalf("no function %s in the package", fn)
	}
	codes := map[int]bool{}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] || funcs[name] == nil {
			return
		}
		seen[name] = true
		ast.Inspect(funcs[name].Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if v, ok := consts[n.Name]; ok {
					codes[v] = true
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok {
					visit(id.Name)
				}
			}
			return true
		})
	}
	visit(fn)
	return slices.Sorted(maps.Keys(codes))
}

// listedExitCodes are the codes a usage's "Exit codes:" section lists, one
// a line after a tab, in order.
func listedExitCodes(t *testing.T, usage string) []int {
	t.Helper()
	_, section, ok := strings.Cut(usage, "\nExit codes:\n")
	if !ok {
		t.Fatalf("no \"Exit codes:\" section in:\n%s", usage)
	}
	var codes []int
	for _, m := range regexp.MustCompile(`(?m)^\t(\d+)  `).FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[1])
		codes = append(codes, n)
	}
	return codes
}
