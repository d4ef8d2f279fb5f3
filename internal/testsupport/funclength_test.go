package testsupport

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFunctionLines is the longest function body, in lines from its func
// line to its closing brace, that a non-test file may hold: past it a
// function asks to be split by concern (issue #31, "Functions a reader can
// hold"). Tests are left out: a table is long by nature.
const maxFunctionLines = 100

// TestFunctionsAReaderCanHold fails on any function or method of the
// module's non-test Go files longer than maxFunctionLines, naming each.
func TestFunctionsAReaderCanHold(t *testing.T) {
	root := moduleRoot(t)
	var long []string
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil {
				return filepath.SkipDir // another module (tools/*)
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			if n := end.Line - start.Line + 1; n > maxFunctionLines {
				long = append(long, fmt.Sprintf("%s:%d %s: %d lines", filepath.ToSlash(rel), start.Line, fn.Name.Name, n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d Go files under %s: the walk missed the module", files, root)
	}
	for _, l := range long {
		t.Errorf("%s, past %d: split it by concern", l, maxFunctionLines)
	}
}
