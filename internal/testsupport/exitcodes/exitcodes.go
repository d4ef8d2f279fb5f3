// Package exitcodes reads a command's exit codes from its source and from its
// usage text, so that a test can hold the two to each other: a code added to
// the program and not to the usage, or listed and never returned, fails.
package exitcodes

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Source is a command package's non-test files, as far as exit codes go.
type Source struct {
	// Defined are the package's constants named exit*, with their values.
	Defined map[string]int
	funcs   map[string]*ast.FuncDecl
}

// Read parses the non-test Go files of dir. Exit codes must be constants
// named exit* and written as numbers, or the test stops and says so.
func Read(t *testing.T, dir string) Source {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Defined: map[string]int{}, funcs: map[string]*ast.FuncDecl{}}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Body != nil {
					src.funcs[d.Name.Name] = d
				}
			case *ast.GenDecl:
				if d.Tok == token.CONST {
					src.readConstants(t, d)
				}
			}
		}
	}
	if len(src.Defined) == 0 {
		t.Fatalf("%s defines no exit* constants", dir)
	}
	return src
}

func (s Source) readConstants(t *testing.T, d *ast.GenDecl) {
	t.Helper()
	for _, spec := range d.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "exit") {
				continue
			}
			var lit *ast.BasicLit
			if i < len(vs.Values) {
				lit, _ = vs.Values[i].(*ast.BasicLit)
			}
			if lit == nil || lit.Kind != token.INT {
				t.Fatalf("exit code %s: write it as a number, so the usage test can read it", name.Name)
			}
			s.Defined[name.Name], _ = strconv.Atoi(lit.Value)
		}
	}
}

// Values are the defined codes, sorted.
func (s Source) Values() []int {
	return slices.Sorted(maps.Values(s.Defined))
}

// ReachedFrom are the codes function fn names, itself or through the
// package's functions it calls, sorted: what fn can return.
func (s Source) ReachedFrom(t *testing.T, fn string) []int {
	t.Helper()
	if s.funcs[fn] == nil {
		t.Fatalf("no function %s in the package", fn)
	}
	codes := map[int]bool{}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] || s.funcs[name] == nil {
			return
		}
		seen[name] = true
		ast.Inspect(s.funcs[name].Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if v, ok := s.Defined[n.Name]; ok {
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

// Unused are the defined constants no function names, sorted.
func (s Source) Unused() []string {
	used := map[string]bool{}
	for _, fd := range s.funcs {
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if _, ok := s.Defined[id.Name]; ok {
					used[id.Name] = true
				}
			}
			return true
		})
	}
	var unused []string
	for name := range s.Defined {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	return unused
}

// listed is one line of an "Exit codes:" section: a tab, the code, two spaces.
var listed = regexp.MustCompile(`(?m)^\t(\d+)  `)

// Listed are the codes a usage text's "Exit codes:" section lists, in order.
func Listed(t *testing.T, usage string) []int {
	t.Helper()
	_, section, ok := strings.Cut(usage, "\nExit codes:\n")
	if !ok {
		t.Fatalf("no \"Exit codes:\" section in:\n%s", usage)
	}
	var codes []int
	for _, m := range listed.FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[1])
		codes = append(codes, n)
	}
	return codes
}
