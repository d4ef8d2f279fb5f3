package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// options are the command's flags.
type options struct {
	stack, masterURL, host, resultsDir, baseline, image string
	users, expectWorkers, baselineRuns                  int
	spawnRate                                           float64
	runTime, waitWorkers, interval                      time.Duration
	thresholds                                          runreport.Thresholds
	// stacks and masterURLs are the --stack and --master-url flags, each
	// given once per stack; stack and masterURL are the one stack's, or
	// for several (several.go) their names joined by "+" and the first URL.
	stacks     stackList
	masterURLs urlList
	// campaign is the --campaign file, whose stacks and shares stand for
	// the --stack flags.
	campaign string
	// locustfilesSHA256 is the checksum of the locustfiles the master
	// runs, read from its pod when loadtest port-forwards to it.
	locustfilesSHA256 string
	// invalidFailRatio is the share of failed requests above which a run
	// is invalid (runreport.Validity); negative: no limit.
	invalidFailRatio float64
	// outputs reads the stack's outputs with the pulumi CLI.
	outputs bool
	// bucket keeps results in S3; endpoint is an S3-compatible store's.
	bucket, endpoint string
	// webUsername and webPassword log in to a web UI behind the stack's
	// login: from the stack's outputs, or LOCUST_EKS_WEB_USERNAME and
	// LOCUST_EKS_WEB_PASSWORD, which win.
	webUsername, webPassword string
	// masterCertificate is the file of the certificate the master serves
	// HTTPS with; masterCertificatePEM its text, or the stack's
	// webTlsCertificate output.
	masterCertificate, masterCertificatePEM string
	// set are the flags given on the command line; they win over outputs.
	set map[string]bool
}

// applyOutputs takes the stack's load-test parameters, thresholds, worker
// count and results bucket for every flag not given on the command line.
func (o *options) applyOutputs(out stackoutputs.Outputs) {
	lt := out.LoadTest
	take := func(flag string, apply func()) {
		if !o.set[flag] {
			apply()
		}
	}
	take("users", func() { o.users = lt.Users })
	take("spawn-rate", func() { o.spawnRate = lt.SpawnRate })
	take("run-time", func() {
		if d, err := time.ParseDuration(lt.RunTime); err == nil {
			o.runTime = d
		}
	})
	take("expect-workers", func() { o.expectWorkers = out.Workers })
	take("results-bucket", func() { o.bucket = out.ResultsBucket })
	take("image", func() { o.image = out.Image })
	take("max-fail-ratio", func() { o.thresholds.MaxFailRatio = lt.MaxFailRatio })
	take("max-p95-ms", func() { o.thresholds.MaxP95Ms = lt.MaxP95Ms })
	take("max-p99-ms", func() { o.thresholds.MaxP99Ms = lt.MaxP99Ms })
	take("min-rps", func() { o.thresholds.MinRPS = lt.MinRPS })
	take("max-regression-pct", func() { o.thresholds.MaxRegressionPct = lt.MaxRegressionPct })
	if o.webUsername == "" {
		o.webUsername = out.WebUsername
	}
	if o.webPassword == "" {
		o.webPassword = out.WebPassword
	}
	if o.masterCertificatePEM == "" {
		o.masterCertificatePEM = out.WebTLSCertificate
	}
}

// parseFlags reads the load test's flags. It returns flag.ErrHelp for -h,
// and an error naming the flag to fix for any other mistake.
func parseFlags(args []string) (options, error) {
	var o options
	fs := o.flagSet()
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if err := o.takeCampaign(); err != nil {
		return o, err
	}
	if err := o.takeStacks(); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		// A misspelt subcommand lands here: the flags stop at it.
		return o, fmt.Errorf("%q is neither a flag nor a subcommand (the subcommands: %s)", fs.Arg(0), subcommandNames())
	case o.stack == "":
		return o, errors.New("--stack is required (or --campaign): it names the results folder and the baseline")
	case o.masterURL == "" && !o.outputs:
		return o, errors.New("--master-url is required with --stack-outputs=false: without the stack's outputs the command cannot find the master")
	case o.users < 1 || o.spawnRate <= 0 || o.runTime < time.Second || o.expectWorkers < 1:
		return o, errors.New("--users and --expect-workers must be at least 1, --spawn-rate above 0, --run-time at least 1s")
	case strings.ContainsAny(o.stack, `/\`) || o.stack == "." || o.stack == "..":
		return o, fmt.Errorf("--stack %q must be a stack name, not a path", o.stack)
	}
	return o, nil
}

// flagSet defines the load test's flags on o. It prints nothing: the
// caller reports errors, and the usage is usageText's.
func (o *options) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&o.stacks, "stack", "the `NAME` of the stack the test runs against; names the results folder (required). Repeat it for one test across several stacks, each NAME or NAME=SHARE of the users (default: equal shares)")
	fs.StringVar(&o.campaign, "campaign", "", "a campaign `FILE`, campaigns/<name>.yaml: one test across the set of stacks it names, each with its share of the users, as --stack NAME=SHARE once per stack (instead of --stack)")
	fs.Var(&o.masterURLs, "master-url", "the master's web UI `URL`, if this machine reaches it; empty: a port-forward to the master Service, found in the stack's outputs (each shard's, for a stack of shards). With several --stack, one per stack in their order")
	fs.StringVar(&o.masterCertificate, "master-certificate", "", "PEM file of the certificate the master serves HTTPS with, which it must present (default: the stack's webTlsCertificate output)")
	fs.StringVar(&o.host, "host", "", "target base URL; empty keeps the stack's targetHost")
	fs.IntVar(&o.users, "users", 10, "simulated users")
	fs.Float64Var(&o.spawnRate, "spawn-rate", 1, "users started per second")
	fs.DurationVar(&o.runTime, "run-time", time.Minute, "how long the test runs")
	fs.IntVar(&o.expectWorkers, "expect-workers", 1, "workers that must be connected before the test starts (with several --stack or shards: to each master; default: the stack's, or each shard's, workers output)")
	fs.DurationVar(&o.waitWorkers, "wait-workers", 2*time.Minute, "how long to wait for them")
	fs.DurationVar(&o.interval, "progress-interval", 5*time.Second, "the time between progress lines when not on a terminal (on one: a second)")
	fs.StringVar(&o.resultsDir, "results-dir", "results", "where results/<stack>/<time>/ goes")
	fs.StringVar(&o.baseline, "baseline", "", "a results folder to compare with; default: the stack's previous run")
	fs.StringVar(&o.image, "image", "", "the Locust image, recorded in summary.json")
	fs.Float64Var(&o.thresholds.MaxFailRatio, "max-fail-ratio", -1, "highest share of failed requests, 0 to 1 (negative: no limit)")
	fs.Float64Var(&o.thresholds.MaxP95Ms, "max-p95-ms", 0, "highest p95 response time in ms (0: no limit)")
	fs.Float64Var(&o.thresholds.MaxP99Ms, "max-p99-ms", 0, "highest p99 response time in ms (0: no limit)")
	fs.Float64Var(&o.invalidFailRatio, "invalid-fail-ratio", runreport.DefaultInvalidFailRatio, "share of failed requests, 0 to 1, above which the run is invalid: not judged, never a baseline (negative: no limit)")
	fs.BoolVar(&o.thresholds.PerEndpoint, "per-endpoint", false, "apply the fail ratio and percentile limits to every endpoint, not only the total")
	fs.Float64Var(&o.thresholds.MinRPS, "min-rps", 0, "lowest total requests per second (0: no limit)")
	fs.Float64Var(&o.thresholds.MaxRegressionPct, "max-regression-pct", 0, "how much worse than the baseline runs p95 and rps may be, in percent, and beyond their run-to-run spread (0: no regression gate)")
	fs.IntVar(&o.baselineRuns, "baseline-runs", runreport.DefaultBaselineRuns, "how many of the stack's last passing runs with the same parameters make the regression gate's baseline")
	fs.StringVar(&o.bucket, "results-bucket", "", "S3 bucket to upload the results to and read baselines from (default: the stack's resultsBucket output; empty: local only)")
	fs.StringVar(&o.endpoint, "s3-endpoint", "", "endpoint of an S3-compatible store instead of AWS S3")
	fs.BoolVar(&o.outputs, "stack-outputs", true, "take parameters, thresholds and the worker count from the stack's outputs (pulumi stack output), for the flags not given")
	return fs
}
