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
// Exit codes: 0 the value was printed (or the usage asked for with -h); 1
// the file does not set KEY to a plain (not encrypted) scalar; 2 bad usage
// or an unreadable file. `stackvalue -h` prints them in full.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Exit codes, as usage describes them. Numbers, not iota: the usage test
// reads them from the source.
const (
	exitPrinted     = 0
	exitNotSet      = 1
	exitCouldNotRun = 2
)

// usage is the command's help, for -h.
const usage = `stackvalue prints one config value of a Pulumi stack file.

It reads the file with a YAML parser, for CI steps that need a stack's
settings (its aws:region) before Pulumi runs: quotes, comments and flow style
are read as YAML reads them, which a sed expression does not. A KEY with a
namespace (aws:region, locust-eks:workers) is looked up under config:; one
without (secretsprovider, encryptedkey) is a top-level setting of the file.
An encrypted (secure:) value is not printed.

Usage:

	stackvalue FILE KEY

Example:

	go run ./cmd/stackvalue Pulumi.dev.yaml aws:region

Exit codes:

	0  the value was printed; or the usage was asked for (-h)
	1  the file does not set KEY to a plain (not encrypted) scalar
	2  bad usage, or a file that cannot be read or is no YAML
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errNotSet is returned when the file does not set the key as a scalar.
var errNotSet = errors.New("not set")

// run prints the value of args' KEY in args' FILE and returns the exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	// No flags, yet parsed as flags: -h asks for the usage.
	fs := flag.NewFlagSet("stackvalue", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitPrinted
	case err == nil && fs.NArg() != 2:
		err = fmt.Errorf("want a stack file and a key, got %d arguments: stackvalue FILE KEY (for example: stackvalue Pulumi.dev.yaml aws:region)", fs.NArg())
	}
	if err != nil {
		fmt.Fprintf(stderr, "stackvalue: %v\nRun 'stackvalue -h' for the usage.\n", err)
		return exitCouldNotRun
	}
	file, key := fs.Arg(0), fs.Arg(1)
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "stackvalue:", err)
		return exitCouldNotRun
	}
	value, err := lookup(b, key)
	switch {
	case errors.Is(err, errNotSet):
		fmt.Fprintf(stderr, "stackvalue: %s sets no %s (as a plain value under config:)\n", file, key)
		return exitNotSet
	case err != nil:
		fmt.Fprintf(stderr, "stackvalue: %s: %v\n", file, err)
		return exitCouldNotRun
	}
	fmt.Fprintln(stdout, value)
	return exitPrinted
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
