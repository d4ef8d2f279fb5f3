package stackconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// projectFile is the part of Pulumi.yaml this package reads.
type projectFile struct {
	Name   string `yaml:"name"`
	Config map[string]struct {
		Type        string `yaml:"type"`
		Description string `yaml:"description"`
		Default     any    `yaml:"default"`
	} `yaml:"config"`
}

// Declaration is one config key as Pulumi.yaml declares it.
type Declaration struct {
	Type        string
	Description string
	Default     any
}

// ReadDeclarations returns the config keys Pulumi.yaml in projectDir declares.
func ReadDeclarations(projectDir string) (map[string]Declaration, error) {
	var pf projectFile
	if err := readYAML(filepath.Join(projectDir, "Pulumi.yaml"), &pf); err != nil {
		return nil, err
	}
	if pf.Name != Project {
		return nil, fmt.Errorf("Pulumi.yaml: project name is %q, want %q", pf.Name, Project)
	}
	decls := make(map[string]Declaration, len(pf.Config))
	for key, d := range pf.Config {
		decls[key] = Declaration{Type: d.Type, Description: d.Description, Default: d.Default}
	}
	return decls, nil
}

// ReadStack returns the config values that `pulumi up` of the named stack
// hands the program: the defaults of Pulumi.yaml overlaid with the values of
// Pulumi.<stack>.yaml, keyed without the "locust-eks:" prefix, arrays as JSON.
// Keys of other namespaces (aws:region) are returned with theirs.
func ReadStack(projectDir, stack string) (map[string]string, error) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	for key, d := range decls {
		if d.Default != nil {
			if values[key], err = configText(d.Default); err != nil {
				return nil, fmt.Errorf("Pulumi.yaml: default of %s: %w", key, err)
			}
		}
	}

	var sf struct {
		Config map[string]any `yaml:"config"`
	}
	name := "Pulumi." + stack + ".yaml"
	if err := readYAML(filepath.Join(projectDir, name), &sf); err != nil {
		return nil, err
	}
	for key, v := range sf.Config {
		short := strings.TrimPrefix(key, Project+":")
		if short == key && !strings.Contains(key, ":") {
			return nil, fmt.Errorf("%s: key %q must be namespaced, as %s:%s", name, key, Project, key)
		}
		if short != key {
			if _, declared := decls[short]; !declared {
				return nil, fmt.Errorf("%s: %s is not declared in Pulumi.yaml", name, key)
			}
		}
		if values[short], err = configText(v); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, key, err)
		}
	}
	return values, nil
}

// StackFilePlainEntries lists the entries of the map-valued config key (without
// the "locust-eks:" prefix) that the stack settings file at path stores in
// plain text. `pulumi config set --secret --path 'key.NAME'` stores an entry
// as {secure: <ciphertext>}; anything else is plain. known is false when the
// file does not hold the key as a map (no such file, a key that comes from an
// ESC environment, or a value that is not a map, which the parser refuses on
// its own).
func StackFilePlainEntries(path, key string) (names []string, known bool) {
	var sf struct {
		Config map[string]any `yaml:"config"`
	}
	if readYAML(path, &sf) != nil {
		return nil, false
	}
	entries, ok := sf.Config[Project+":"+key].(map[string]any)
	if !ok {
		return nil, false
	}
	for name, v := range entries {
		if m, isMap := v.(map[string]any); isMap && len(m) == 1 {
			if _, secure := m["secure"]; secure {
				continue
			}
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, true
}

// StackFileUndeclared lists the keys of this project's namespace (without
// the "locust-eks:" prefix) that the stack settings file at stackFile sets
// and Pulumi.yaml in projectDir does not declare. Pulumi passes them to the
// program without a word, and the program never reads them: a secretEnv
// entry set without --path lands here, as "secretEnv.NAME". known is false
// when either file cannot be read.
func StackFileUndeclared(projectDir, stackFile string) (keys []string, known bool) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		return nil, false
	}
	var sf struct {
		Config map[string]any `yaml:"config"`
	}
	if readYAML(stackFile, &sf) != nil {
		return nil, false
	}
	for key := range sf.Config {
		short, ours := strings.CutPrefix(key, Project+":")
		if _, declared := decls[short]; ours && !declared {
			keys = append(keys, short)
		}
	}
	slices.Sort(keys)
	return keys, true
}

// undeclaredProblems says, for each undeclared key, what the user most
// likely meant, without showing its value (it may be a secret).
func undeclaredProblems(keys []string, decls func(string) bool) []Problem {
	var problems []Problem
	for _, key := range keys {
		parent, _, nested := strings.Cut(key, ".")
		switch {
		case nested && decls(parent):
			secret := ""
			if parent == "secretEnv" {
				secret = "--secret "
			}
			problems = append(problems, Problem{Key: key, Value: "a key of its own (value not shown)",
				Allowed: "the program never reads it: an entry of " + parent + " is set with --path. Remove it with `pulumi config rm '" + key +
					"'` and set it with `pulumi config set " + secret + "--path '" + key + "' VALUE`"})
		default:
			problems = append(problems, Problem{Key: key, Value: "a key Pulumi.yaml does not declare (value not shown)",
				Allowed: "the program never reads it: check its spelling against the config reference in docs/configuration.md, or remove it with `pulumi config rm '" + key + "'`"})
		}
	}
	return problems
}

// Stacks lists the stacks that have a Pulumi.<stack>.yaml in projectDir.
func Stacks(projectDir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(projectDir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, err
	}
	stacks := make([]string, 0, len(matches))
	for _, m := range matches {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	return stacks, nil
}

// configText renders a YAML value the way Pulumi passes config to programs:
// scalars as text, lists and maps as JSON.
func configText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []any, map[string]any:
		b, err := json.Marshal(v)
		return string(b), err
	default:
		return fmt.Sprint(v), nil
	}
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
