package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runhistory"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// historyOptions are the history subcommand's flags.
type historyOptions struct {
	stack, resultsDir, trend, bucket, endpoint string
	last                                       int
}

// flagSet defines the history subcommand's flags on o. It prints nothing:
// the caller reports errors, and the usage is historyUsage.
func (o *historyOptions) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest history", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.stack, "stack", "", "the stack whose runs to list (required)")
	fs.StringVar(&o.resultsDir, "results-dir", "results", "where results/<stack>/<time>/ are")
	fs.IntVar(&o.last, "last", 20, "how many of the newest runs to show (0: all)")
	fs.StringVar(&o.trend, "trend", "", "the trend picture to write, .svg or .png (default: <results-dir>/<stack>/trend.svg)")
	fs.StringVar(&o.bucket, "results-bucket", "", "also read the runs in this S3 bucket (the stack's resultsBucket output), where CI keeps them")
	fs.StringVar(&o.endpoint, "s3-endpoint", "", "an S3-compatible endpoint instead of AWS's")
	return fs
}

// history prints the stack's last runs and draws their trend:
//
//	go run ./cmd/loadtest history --stack dev [--last 20] [--trend FILE] [--results-bucket NAME]
func history(args []string, stdout, stderr io.Writer) int {
	var o historyOptions
	fs := o.flagSet()
	if err := fs.Parse(args); err != nil {
		return usageFailed(err, "history", stdout, stderr)
	}
	switch {
	case fs.NArg() > 0:
		return usageFailed(fmt.Errorf("%q is no flag: history takes flags only", fs.Arg(0)), "history", stdout, stderr)
	case o.stack == "":
		return usageFailed(errors.New("--stack is required"), "history", stdout, stderr)
	}
	stackDir := filepath.Join(o.resultsDir, o.stack)
	runs, err := runhistory.Load(stackDir)
	// Without a folder the bucket may hold every run; a local summary.json
	// that cannot be read stays an error, or its run would silently be
	// missing.
	if o.bucket != "" && (err == nil || errors.Is(err, os.ErrNotExist)) {
		var store *resultstore.Store
		if store, err = resultstore.New(context.Background(), o.bucket, o.endpoint); err == nil {
			runs, err = withBucketRuns(context.Background(), o.stack, "~", runs, store, o.last)
		}
	}
	if err == nil && len(runs) == 0 {
		err = fmt.Errorf("no run of stack %s in %s has a summary.json", o.stack, stackDir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest history:", err)
		return exitCouldNotRun
	}
	runs = runhistory.Last(runs, o.last)
	if err := runhistory.Table(stdout, runs); err != nil {
		fmt.Fprintln(stderr, "loadtest history:", err)
		return exitCouldNotRun
	}
	path := o.trend
	if path == "" {
		path = filepath.Join(stackDir, "trend.svg")
	}
	if err := runhistory.Trend(path, "stack "+o.stack, runs); err != nil {
		fmt.Fprintln(stderr, "loadtest history: drawing the trend:", err)
		return exitCouldNotRun
	}
	fmt.Fprintf(stdout, "trend: %s (%d runs)\n", path, len(runs))
	return exitOK
}

// compare prints how every endpoint moved from run A to run B, two results
// folders:
//
//	go run ./cmd/loadtest compare results/dev/20260101T000000Z results/dev/20260102T000000Z
func compare(args []string, stdout, stderr io.Writer) int {
	// No flags, yet parsed as flags: -h asks for the usage.
	fs := flag.NewFlagSet("loadtest compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageFailed(err, "compare", stdout, stderr)
	}
	if args = fs.Args(); len(args) != 2 {
		return usageFailed(errors.New("give two results folders, the older first: loadtest compare A B"), "compare", stdout, stderr)
	}
	var summaries [2]runreport.Summary
	for i, dir := range args {
		r, err := runhistory.Read(dir)
		if err != nil {
			fmt.Fprintf(stderr, "loadtest compare: %s: %v (give results folders holding a summary.json)\n", dir, err)
			return exitCouldNotRun
		}
		summaries[i] = r.Summary
	}
	changes := runreport.Compare(summaries[1].Stats, summaries[0].Stats)
	if len(changes) == 0 {
		fmt.Fprintln(stderr, "loadtest compare: the two runs share no endpoint")
		return exitCouldNotRun
	}
	fmt.Fprintf(stdout, "%s -> %s\n", args[0], args[1])
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\tfigure\tA\tB\tchange")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%s\n", c.Endpoint, c.Figure, c.Baseline, c.Now, c.Text())
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "loadtest compare:", err)
		return exitCouldNotRun
	}
	return exitOK
}
