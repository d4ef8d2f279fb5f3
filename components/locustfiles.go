package components

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadLocustfiles reads every regular file directly in dir (locustfiles,
// helper modules, data files) into the map LocustClusterArgs.Locustfiles
// takes. Hidden files and subdirectories such as __pycache__ are skipped:
// a ConfigMap is flat.
func ReadLocustfiles(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading locustfiles: %w", err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading locustfiles: %w", err)
		}
		files[e.Name()] = string(b)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("reading locustfiles: %s holds no files", dir)
	}
	return files, nil
}
