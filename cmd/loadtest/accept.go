package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// acceptOptions are the accept subcommand's flags.
type acceptOptions struct {
	stack, resultsDir, bucket, endpoint string
}

// flagSet defines the accept subcommand's flags on o. It prints nothing:
// the caller reports errors, and the usage is acceptUsage.
func (o *acceptOptions) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest accept", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.stack, "stack", "", "the stack the run belongs to (required)")
	fs.StringVar(&o.resultsDir, "results-dir", "results", "where results/<stack>/<time>/ are")
	fs.StringVar(&o.bucket, "results-bucket", "", "the S3 bucket that holds the stack's runs (the stack's resultsBucket output), where CI keeps them")
	fs.StringVar(&o.endpoint, "s3-endpoint", "", "an S3-compatible endpoint instead of AWS's")
	return fs
}

// accept records a run as the stack's new level, in its summary.json in
// the results folder and in the bucket, wherever the run is:
//
//	go run ./cmd/loadtest accept --stack dev [--results-bucket NAME] RUN
func accept(args []string, stdout, stderr io.Writer) int {
	var o acceptOptions
	fs := o.flagSet()
	if err := fs.Parse(args); err != nil {
		return usageFailed(err, "accept", stdout, stderr)
	}
	switch {
	case fs.NArg() != 1:
		return usageFailed(errors.New("give one run: its folder, or the folder's name (its UTC start, like 20260102T150405Z)"), "accept", stdout, stderr)
	case o.stack == "":
		return usageFailed(errors.New("--stack is required"), "accept", stdout, stderr)
	}
	ctx := context.Background()
	var store *resultstore.Store
	if o.bucket != "" {
		var err error
		if store, err = resultstore.New(ctx, o.bucket, o.endpoint); err != nil {
			fmt.Fprintln(stderr, "loadtest accept:", err)
			return exitCouldNotRun
		}
	}
	by := os.Getenv("GITHUB_ACTOR")
	if by == "" {
		by = os.Getenv("USER")
	}
	where, err := acceptRun(ctx, o, filepath.Base(fs.Arg(0)), store, runreport.Acceptance{At: time.Now().UTC().Format(time.RFC3339), By: by})
	if err != nil {
		fmt.Fprintln(stderr, "loadtest accept:", err)
		return exitCouldNotRun
	}
	fmt.Fprintf(stdout, "accepted %s as stack %s's new level: later runs of its load are judged against it and the runs after it, not the runs before it\n", strings.Join(where, " and "), o.stack)
	return exitOK
}

// acceptRun records acceptance in the summary.json of run, in the results
// folder and in the bucket, each where the run is; it returns where it
// wrote. A run that was interrupted cannot be accepted: it measured part of
// a run.
func acceptRun(ctx context.Context, o acceptOptions, run string, store *resultstore.Store, acceptance runreport.Acceptance) ([]string, error) {
	local := filepath.Join(o.resultsDir, o.stack, run, "summary.json")
	key := o.stack + "/" + run + "/summary.json"
	type copyOf struct {
		where string
		read  func() ([]byte, error)
		write func([]byte) error
	}
	copies := []copyOf{{local, func() ([]byte, error) { return os.ReadFile(local) }, func(b []byte) error { return os.WriteFile(local, b, 0o644) }}}
	if store != nil {
		copies = append(copies, copyOf{"s3://" + store.Bucket() + "/" + key,
			func() ([]byte, error) { return store.Get(ctx, key) },
			func(b []byte) error { return store.Put(ctx, key, b) }})
	}
	var wrote []string
	for _, c := range copies {
		b, err := c.read()
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, resultstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return wrote, err
		}
		var s runreport.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return wrote, fmt.Errorf("%s: %w", c.where, err)
		}
		if s.Verdict == runreport.VerdictInterrupted {
			return wrote, fmt.Errorf("%s was interrupted: it measured part of a run, and cannot be the new level; accept a whole run", c.where)
		}
		s.Accepted = &acceptance
		out, _ := json.MarshalIndent(s, "", "  ")
		if err := c.write(append(out, '\n')); err != nil {
			return wrote, err
		}
		wrote = append(wrote, c.where)
	}
	if len(wrote) == 0 {
		where := local
		if store != nil {
			where += " nor s3://" + store.Bucket() + "/" + key
		}
		return nil, fmt.Errorf("no run %s of stack %s: neither %s exists (loadtest history lists the runs; give --results-bucket for CI's)", run, o.stack, where)
	}
	return wrote, nil
}
