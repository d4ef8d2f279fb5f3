package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	defined, used := exitCodesInSource(t)
	if len(defined) == 0 {
		t.Fatal("no exit* constants found")
	}
	values := slices.Sorted(maps.Values(defined))
	if got := listedExitCodes(t, usage); !slices.Equal(got, values) {
		t.Errorf("the usage lists exit codes %v; the command defines %v", got, values)
	}
	for name := range defined {
		if !used[name] {
			t.Errorf("%s is defined, and listed, but no function uses it", name)
		}
	}
}

// exitCodesInSource reads the command's non-test files: its constants
// named exit*, with their values (written as numbers), and which of them
// a function uses.
func exitCodesInSource(t *testing.T) (defined map[string]int, used map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	defined, used = map[string]int{}, map[string]bool{}
	var bodies []*ast.BlockStmt
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				bodies = append(bodies, d.Body)
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !strings.HasPrefix(name.Name, "exit") {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.INT {
							t.Fatalf("exit code %s: write it as a number, so this test can read it", name.Name)
						}
						defined[name.Name], _ = strconv.Atoi(lit.Value)
					}
				}
			}
		}
	}
	for _, body := range bodies {
		ast.Inspect(body, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if _, ok := defined[id.Name]; ok {
					used[id.Name] = true
				}
			}
			return true
		})
	}
	return defined, used
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
