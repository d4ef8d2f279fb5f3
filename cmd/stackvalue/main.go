// Command stackvalue prints one config value of a Pulumi stack file, read
// with a YAML parser, for CI steps that need a stack's settings (its
// aws:region) before Pulumi runs. Quotes, comments and flow style are read as
// YAML reads them, which a sed expression does not.
//
// Usage:
//
//	stackvalue FILE KEY
//
// A KEY with a namespace (aws:region, locust-eks:workers) is looked up under
// config:; one without (secretsprovider, encryptedkey) is a top-level setting
// of the stack file.
//
// Exit codes: 0 the value was printed; 1 the file does not set KEY to a
// plain (not encrypted) scalar; 2 bad usage or an unreadable file.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errNotSet is returned when the file does not set the key as a scalar.
var errNotSet = errors.New("not set")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: stackvalue FILE KEY   (for example: stackvalue Pulumi.dev.yaml aws:region)")
		return 2
	}
	file, key := args[0], args[1]
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "stackvalue:", err)
		return 2
	}
	value, err := lookup(b, key)
	switch {
	case errors.Is(err, errNotSet):
		fmt.Fprintf(stderr, "stackvalue: %s sets no %s (as a plain value under config:)\n", file, key)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "stackvalue: %s: %v\n", file, err)
		return 2
	}
	fmt.Fprintln(stdout, value)
	return 0
}

// lookup returns the scalar value of key: under the stack file's config for
// a namespaced key, at its top level otherwise.
func lookup(stackFile []byte, key string) (string, error) {
	var sf map[string]yaml.Node
	if err := yaml.Unmarshal(stackFile, &sf); err != nil {
		return "", err
	}
	node, ok := sf[key]
	if strings.Contains(key, ":") {
		var config map[string]yaml.Node
		if c, has := sf["config"]; !has || c.Decode(&config) != nil {
			return "", errNotSet
		}
		node, ok = config[key]
	}
	if !ok || node.Kind != yaml.ScalarNode || node.Value == "" {
		return "", errNotSet
	}
	return node.Value, nil
}
