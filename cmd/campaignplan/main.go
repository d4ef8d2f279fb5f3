// Command campaignplan prints what a campaign.yml run of a name works on:
// the stacks of the set campaigns/<name>.yaml, or the stack of
// Pulumi.<name>.yaml alone, as JSON for the workflow's matrix. It reads and
// checks the campaign files with internal/campaign, as cmd/loadtest
// --campaign does.
//
// Usage:
//
//	campaignplan NAME
//
// Exit codes: 0 the plan was printed (or the usage asked for with -h); 1
// the name is no stack and no set, a stack of a set, or a campaign file is
// invalid; 2 bad usage. `campaignplan -h` prints them in full.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/locust-eks/locust-on-eks/internal/campaign"
)

// Exit codes, as usage describes them. Numbers, not iota: the usage test
// reads them from the source.
const (
	exitPrinted     = 0
	exitRefused     = 1
	exitCouldNotRun = 2
)

// usage is the command's help, for -h.
const usage = `campaignplan prints what a campaign.yml run of NAME works on.

NAME is a set of stacks, campaigns/NAME.yaml, or one stack, Pulumi.NAME.yaml,
never both. It prints one line of JSON: the stacks in the set's order (or the
one stack) and the set's file ("" for one stack). Every campaign file of the
project is checked on the way (docs/several-stacks.md, Regions); a stack of a
set is refused alone, since the set's runs hold its concurrency group.

Usage:

	campaignplan NAME

Example:

	go run ./cmd/campaignplan dev-regions
	{"stacks":["dev-use1","dev-euw1"],"campaign":"campaigns/dev-regions.yaml"}

Exit codes:

	0  the plan was printed; or the usage was asked for (-h)
	1  NAME is no stack and no set, or a stack of a set, or a campaign file
	   is invalid (the message says which and why)
	2  bad usage
`

func main() {
	os.Exit(run(os.Args[1:], ".", os.Stdout, os.Stderr))
}

// run prints the plan of args' NAME in the project at projectDir and
// returns the exit code.
func run(args []string, projectDir string, stdout, stderr io.Writer) int {
	// No flags, yet parsed as flags: -h asks for the usage.
	fs := flag.NewFlagSet("campaignplan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitPrinted
	case err == nil && fs.NArg() != 1:
		err = fmt.Errorf("want one name, got %d arguments: campaignplan NAME (for example: campaignplan dev-regions)", fs.NArg())
	}
	if err != nil {
		fmt.Fprintf(stderr, "campaignplan: %v\nRun 'campaignplan -h' for the usage.\n", err)
		return exitCouldNotRun
	}
	plan, err := campaign.Resolve(projectDir, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "campaignplan:", err)
		return exitRefused
	}
	b, _ := json.Marshal(plan) // strings only: it cannot fail
	fmt.Fprintln(stdout, string(b))
	return exitPrinted
}
