package main

import (
	"context"
	"errors"
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
	defined, used := exitCodesInSource(t)
	if len(defined) == 0 {
		t.Fatal("no exit* constants found")
	}
	values := slices.Sorted(maps.Values(defined))
	if got := listedExitCodes(t, stdout.String()); !slices.Equal(got, values) {
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
