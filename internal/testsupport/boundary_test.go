package testsupport

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/locust-eks/locust-on-eks"

// TestTheProductImportsNoTestSupport reads the imports of every non-test Go
// file of the module outside this folder, whatever its build tags, and fails
// on any import of internal/testsupport.
func TestTheProductImportsNoTestSupport(t *testing.T) {
	root := moduleRoot(t)
	support := filepath.Join(root, "internal", "testsupport")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path == support || (path != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "testdata")) {
				return filepath.SkipDir
			}
			// A folder with its own go.mod (tools/*) is another module.
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		seen[filepath.ToSlash(rel)] = true
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if p == module+"/internal/testsupport" || strings.HasPrefix(p, module+"/internal/testsupport/") {
				t.Errorf("%s imports %s: test support must not ship; move what the product needs out of internal/testsupport", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk must have reached the program and its commands, or it proves nothing.
	for _, want := range []string{"main.go", "components/locustcluster.go", "cmd/loadtest/main.go", "cmd/reaper/main.go"} {
		if !seen[want] {
			t.Errorf("the walk of %s never read %s", root, want)
		}
	}
}

// moduleRoot is the module's root folder, two up from this one, checked by
// its go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.HasPrefix(string(b), "module "+module+"\n") {
		t.Fatalf("%s is not the module root of %s (go.mod: %v)", root, module, err)
	}
	return root
}
