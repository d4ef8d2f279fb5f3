package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// subcommand is a command of loadtest's own, named by its first argument.
// Without one, loadtest runs a load test.
type subcommand struct {
	name string
	// summary is its line in loadtest's usage.
	summary string
	// usage is its help, for `loadtest help NAME` and `loadtest NAME -h`.
	usage func() usageText
	run   func(args []string, stdout, stderr io.Writer) int
}

// subcommands are what the dispatcher in run knows. A function rather than
// a variable: help and the usages read the table, and the table names them.
func subcommands() []subcommand {
	return []subcommand{
		{name: "history", summary: "the stack's last runs as a table, and their trend picture", usage: historyUsage, run: history},
		{name: "compare", summary: "per-endpoint changes from one run's results folder to another's", usage: compareUsage, run: compare},
		{name: "accept", summary: "accept a run as the stack's new level: the regression gate's baseline from it on", usage: acceptUsage, run: accept},
		{name: "help", summary: "this usage, or a subcommand's", usage: helpUsage, run: help},
	}
}

// findSubcommand is the subcommand called name.
func findSubcommand(name string) (subcommand, bool) {
	for _, sc := range subcommands() {
		if sc.name == name {
			return sc, true
		}
	}
	return subcommand{}, false
}

// usageText is a command's help in the order `go help` gives it: what it
// does, how to call it and an example (about), its flags, its exit codes.
type usageText struct {
	about string
	// flags are the command's flags; nil when it takes none.
	flags *flag.FlagSet
	exits string
}

// write writes the usage to w.
func (u usageText) write(w io.Writer) {
	fmt.Fprint(w, u.about)
	if u.flags != nil {
		var defaults strings.Builder
		u.flags.SetOutput(&defaults)
		u.flags.PrintDefaults()
		fmt.Fprintf(w, "\nFlags (one dash or two: -stack or --stack):\n\n%s", defaults.String())
	}
	fmt.Fprintf(w, "\nExit codes:\n\n%s", u.exits)
}

// usageFailed answers a failed parse of the arguments of command (a
// subcommand's name, or "" for the load test): the usage on stdout and
// exitOK when -h or -help asked for it, else the error and where the usage
// is on stderr, and exitCouldNotRun.
func usageFailed(err error, command string, stdout, stderr io.Writer) int {
	u, name := mainUsage, "loadtest"
	if sc, ok := findSubcommand(command); ok {
		u, name = sc.usage, "loadtest "+command
	}
	if errors.Is(err, flag.ErrHelp) {
		u().write(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: %v\nRun '%s -h' for the usage.\n", name, err, name)
	return exitCouldNotRun
}

// help prints loadtest's usage, or a subcommand's:
//
//	loadtest help [SUBCOMMAND]
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		mainUsage().write(stdout)
		return exitOK
	case len(args) > 1:
		fmt.Fprintf(stderr, "loadtest help: give one subcommand, not %d: loadtest help SUBCOMMAND\n", len(args))
		return exitCouldNotRun
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		helpUsage().write(stdout)
		return exitOK
	}
	sc, ok := findSubcommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "loadtest help: no subcommand %q; the subcommands: %s\n", args[0], subcommandNames())
		return exitCouldNotRun
	}
	sc.usage().write(stdout)
	return exitOK
}

// subcommandNames lists the subcommands' names for an error message.
func subcommandNames() string {
	var names []string
	for _, sc := range subcommands() {
		names = append(names, sc.name)
	}
	return strings.Join(names, ", ")
}

// mainUsage is loadtest's own usage: the load test, its flags, and the
// subcommands one line each.
func mainUsage() usageText {
	var list strings.Builder
	for _, sc := range subcommands() {
		fmt.Fprintf(&list, "\t%-9s %s\n", sc.name, sc.summary)
	}
	return usageText{
		about: `loadtest runs one load test against a deployed stack's Locust master, records
its results and gates on them.

It reads the stack's outputs (pulumi stack output) for the master Service, the
worker count, the stack's loadTest parameters and thresholds and its results
bucket; flags given on the command line win. It port-forwards to the master
(or uses --master-url), waits for the workers, resets the stats, starts the
swarm and shows progress. When the run ends, or on Ctrl-C or SIGTERM after
stopping the swarm, it saves Locust's CSV and HTML report, histogram.json,
summary.json and summary.md under results/<stack>/<UTC time>/ (and in the
results bucket), compares the run with the stack's earlier ones and checks
the thresholds. In GitHub Actions summary.md also goes to the job summary.

With --stack given more than once it runs one test across those stacks'
masters: each its share of the users (--stack NAME=SHARE; equal by default;
every master at least 1 user) and of the spawn rate, all swarms started at
once (the start skew goes in summary.json), one progress line per stack and
the merged one, all stopped together. It saves one result in
results/<stack+stack>/<UTC time>/: the masters' histograms added, its
percentiles those of the pooled requests, with a folder and a summary row
per stack; the thresholds and the gate read the merged figures. A stack
whose master stops answering for 5 s, loses all its workers or stops by
itself ends the run for every stack: it is interrupted (exit 3) and the
summary names the stack and when. --campaign FILE does the same for the
set of stacks and shares a campaign file names (campaigns/<name>.yaml,
its stacks the Pulumi.<stack>.yaml files beside campaigns/).

A stack of several shards (its shards config) runs the same way, each
shard's master a member of the test named NAME/shard-I: a port-forward to
each shard's master Service, each shard's own workers waited for, the
stack's users split among its shards in proportion to their workers.

Usage:

	loadtest --stack NAME [flags]
	loadtest --stack NAME[=SHARE] --stack NAME[=SHARE] ... [flags]
	loadtest --campaign FILE [flags]
	loadtest SUBCOMMAND [arguments]

Subcommands:

` + list.String() + `
"loadtest help SUBCOMMAND" or "loadtest SUBCOMMAND -h" tells more of one.

Examples:

	# a test with the stack's own parameters and thresholds
	go run ./cmd/loadtest --stack dev

	# 200 users for 5 minutes, failing above a p95 of 800 ms
	go run ./cmd/loadtest --stack dev --users 200 --spawn-rate 20 --run-time 5m --max-p95-ms 800

	# one test across two regions' stacks, 60% of the users from the first
	go run ./cmd/loadtest --stack dev-use1=60 --stack dev-euw1=40 --users 1000 --spawn-rate 50

	# the same, from the campaign file naming those stacks and shares
	go run ./cmd/loadtest --campaign campaigns/dev-regions.yaml --users 1000 --spawn-rate 50
`,
		flags: new(options).flagSet(),
		exits: `	0  the run met every threshold; or the usage was asked for (-h, help)
	1  thresholds breached; they are listed
	2  the test could not run: bad flags or arguments, the stack's outputs
	   unreadable, the master unreachable or refused, workers missing, a test
	   already running, an interrupt before the swarm started, the results
	   not saved
	3  interrupted by Ctrl-C or SIGTERM during the run, or, across several
	   stacks, by one that failed mid-run (it is named): the swarms were
	   stopped and the partial results saved
	4  the run is invalid and was not judged; the reasons are listed: too
	   few requests behind a gated percentile, too many failures
	   (--invalid-fail-ratio), cut short of its run time, or a target,
	   worker count, image or locustfiles other than its baselines'
`,
	}
}

func historyUsage() usageText {
	return usageText{
		about: `loadtest history lists a stack's last runs and draws their trend.

It prints a table of the runs in <results-dir>/<stack>/, and with
--results-bucket also of those in the bucket, where CI keeps them: time,
commit, users, rps, p50/p95/p99, failures and verdict (and whether the run
was accepted as the new level). It draws p95 and throughput per run, failed
runs circled in red, accepted ones marked by a green triangle, into
<results-dir>/<stack>/trend.svg (--trend FILE.png for a PNG).

Usage:

	loadtest history --stack NAME [flags]

Example:

	go run ./cmd/loadtest history --stack dev --last 10
`,
		flags: new(historyOptions).flagSet(),
		exits: `	0  the runs were listed and their trend drawn; or the usage was asked for (-h)
	2  bad flags, no run of the stack with a summary.json, or the runs could
	   not be read or the trend not drawn
`,
	}
}

func acceptUsage() usageText {
	return usageText{
		about: `loadtest accept accepts a run as the stack's new level.

After a slowdown that is meant (a heavier page, smaller pods), every later
run would fail the regression gate against the runs before it. Accepting a
run says "this is the new normal": the gate's baselines are then that run
and the passing runs after it, never the runs before it, whatever the
accepted run's own verdict was (a failed run, or one invalid because its
target, workers, image or locustfiles differ from its baselines'). An
interrupted run cannot be accepted.

The acceptance, who and when, is recorded in the run's summary.json, in the
results folder and with --results-bucket in the bucket, wherever the run is.
history shows it in the verdict column, and the trend picture marks the
run with a green triangle.

Usage:

	loadtest accept --stack NAME [flags] RUN

RUN is the run's folder, or its name: its UTC start, like 20260102T150405Z.

Example:

	go run ./cmd/loadtest accept --stack dev --results-bucket my-results 20260102T150405Z
`,
		flags: new(acceptOptions).flagSet(),
		exits: `	0  the run was accepted; or the usage was asked for (-h)
	2  bad flags, no such run in the folder or the bucket, an interrupted
	   run, or the summary could not be read or written
`,
	}
}

func compareUsage() usageText {
	return usageText{
		about: `loadtest compare shows how every endpoint moved from one run to another.

For the total and each endpoint both runs have, it prints rps, p95, p99 and
the fail ratio in run A and in run B, and the change in percent. A and B are
results folders holding a summary.json, the older first.

Usage:

	loadtest compare A B

Example:

	go run ./cmd/loadtest compare results/dev/20260101T000000Z results/dev/20260102T000000Z
`,
		exits: `	0  the changes were printed; or the usage was asked for (-h)
	2  not two folders, a folder without a readable summary.json, or runs
	   that share no endpoint
`,
	}
}

func helpUsage() usageText {
	return usageText{
		about: `loadtest help prints the usage of loadtest, or of one of its subcommands.

Usage:

	loadtest help [SUBCOMMAND]

Example:

	go run ./cmd/loadtest help history
`,
		exits: `	0  the usage was printed
	2  no such subcommand, or more than one named
`,
	}
}
