package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/kubeforward"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// webPort is the master Service's web port (components.WebPort; this
// command does not import the component).
const webPort = 8089

// options are the command's flags.
type options struct {
	stack, masterURL, host, resultsDir, baseline, image string
	users, expectWorkers                                int
	spawnRate                                           float64
	runTime, waitWorkers, interval                      time.Duration
	thresholds                                          runreport.Thresholds
	// outputs reads the stack's outputs with the pulumi CLI.
	outputs bool
	// bucket keeps results in S3; endpoint is an S3-compatible store's.
	bucket, endpoint string
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
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.stack, "stack", "", "the stack the test runs against; names the results folder (required)")
	fs.StringVar(&o.masterURL, "master-url", "", "the master's web UI, if this machine reaches it; empty: a port-forward to the master Service, found in the stack's outputs")
	fs.StringVar(&o.host, "host", "", "target base URL; empty keeps the stack's targetHost")
	fs.IntVar(&o.users, "users", 10, "simulated users")
	fs.Float64Var(&o.spawnRate, "spawn-rate", 1, "users started per second")
	fs.DurationVar(&o.runTime, "run-time", time.Minute, "how long the test runs")
	fs.IntVar(&o.expectWorkers, "expect-workers", 1, "workers that must be connected before the test starts")
	fs.DurationVar(&o.waitWorkers, "wait-workers", 2*time.Minute, "how long to wait for them")
	fs.DurationVar(&o.interval, "progress-interval", 5*time.Second, "seconds between progress lines when not on a terminal")
	fs.StringVar(&o.resultsDir, "results-dir", "results", "where results/<stack>/<time>/ goes")
	fs.StringVar(&o.baseline, "baseline", "", "a results folder to compare with; default: the stack's previous run")
	fs.StringVar(&o.image, "image", "", "the Locust image, recorded in summary.json")
	fs.Float64Var(&o.thresholds.MaxFailRatio, "max-fail-ratio", -1, "highest share of failed requests, 0 to 1 (negative: no limit)")
	fs.Float64Var(&o.thresholds.MaxP95Ms, "max-p95-ms", 0, "highest p95 response time in ms (0: no limit)")
	fs.Float64Var(&o.thresholds.MaxP99Ms, "max-p99-ms", 0, "highest p99 response time in ms (0: no limit)")
	fs.BoolVar(&o.thresholds.PerEndpoint, "per-endpoint", false, "apply the fail ratio and percentile limits to every endpoint, not only the total")
	fs.Float64Var(&o.thresholds.MinRPS, "min-rps", 0, "lowest total requests per second (0: no limit)")
	fs.Float64Var(&o.thresholds.MaxRegressionPct, "max-regression-pct", 0, "how much worse than the baseline p95 and rps may be, in percent (0: no limit)")
	fs.StringVar(&o.bucket, "results-bucket", "", "S3 bucket to upload the results to and read baselines from (default: the stack's resultsBucket output; empty: local only)")
	fs.StringVar(&o.endpoint, "s3-endpoint", "", "endpoint of an S3-compatible store instead of AWS S3")
	fs.BoolVar(&o.outputs, "stack-outputs", true, "take parameters, thresholds and the worker count from the stack's outputs (pulumi stack output), for the flags not given")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	switch {
	case o.stack == "":
		return o, errors.New("--stack is required: it names the results folder and the baseline")
	case o.masterURL == "" && !o.outputs:
		return o, errors.New("--master-url is required with --stack-outputs=false: without the stack's outputs the command cannot find the master")
	case o.users < 1 || o.spawnRate <= 0 || o.runTime < time.Second || o.expectWorkers < 1:
		return o, errors.New("--users and --expect-workers must be at least 1, --spawn-rate above 0, --run-time at least 1s")
	case strings.ContainsAny(o.stack, `/\`) || o.stack == "." || o.stack == "..":
		return o, fmt.Errorf("--stack %q must be a stack name, not a path", o.stack)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	launched := time.Now()
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "loadtest:", err)
		}
		return exitCouldNotRun
	}
	if o.outputs {
		out, err := readOutputs(ctx, o.stack)
		switch {
		case err != nil && o.masterURL == "":
			fmt.Fprintf(stderr, "loadtest: the stack's outputs tell where the master is, and they cannot be read: %v (or pass --master-url)\n", err)
			return exitCouldNotRun
		case err != nil:
			fmt.Fprintf(stderr, "loadtest: not using the stack's outputs (the flags and their defaults decide): %v\n", err)
		default:
			o.applyOutputs(out)
			fmt.Fprintf(stdout, "stack %s: %d workers; defaults from its loadTest output\n", o.stack, out.Workers)
			if o.masterURL == "" {
				fmt.Fprintf(stdout, "port-forward to service/%s in namespace %s\n", out.MasterService, out.Namespace)
				fwd, err := kubeforward.ToService(ctx, kubeforward.Config{Kubeconfig: []byte(out.Kubeconfig), Context: out.KubeContext}, out.Namespace, out.MasterService, webPort)
				if err != nil {
					fmt.Fprintln(stderr, "loadtest: reaching the master:", err)
					return exitCouldNotRun
				}
				defer fwd.Close()
				o.masterURL = fmt.Sprintf("http://127.0.0.1:%d", fwd.LocalPort)
				fmt.Fprintf(stdout, "forwarding 127.0.0.1:%d to pod %s\n", fwd.LocalPort, fwd.Pod)
			}
		}
	}
	master, err := locustapi.New(o.masterURL)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	workers, err := waitForWorkers(ctx, master, o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}

	started := time.Now().UTC()
	fmt.Fprintf(stdout, "starting %d users at %g/s for %s with %d workers\n", o.users, o.spawnRate, o.runTime, workers)
	if err := master.Start(ctx, locustapi.Swarm{Users: o.users, SpawnRate: o.spawnRate, Host: o.host, RunTime: o.runTime}); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	fmt.Fprintf(stdout, "swarm started %.2fs after launch\n", time.Since(launched).Seconds())
	interrupted := watch(ctx, master, o, started, isTerminal(stdout), stdout)
	if interrupted {
		// The signal ended ctx; stopping the swarm gets a context of its own.
		fmt.Fprintf(stdout, "interrupted: stopping the swarm and waiting up to %s for the workers' last reports\n", locustapi.StopTimeout)
		if err := master.Stop(context.Background()); err != nil {
			fmt.Fprintln(stderr, "loadtest: stopping the swarm:", err)
		} else {
			fmt.Fprintln(stdout, "interrupted: the swarm is stopped; saving what the run has so far")
		}
	}

	saveCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	summary, dir, err := save(saveCtx, master, o, started, workers, interrupted, getenv, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	fmt.Fprintf(stdout, "results: %s\n", dir)
	fmt.Fprintf(stdout, "%d requests, %d failures, %.1f rps, p95 %.0f ms, p99 %.0f ms\n",
		summary.Stats.Total.Requests, summary.Stats.Total.Failures, summary.Stats.Total.RPS, summary.Stats.Total.P95Ms, summary.Stats.Total.P99Ms)
	for _, c := range summary.Changes {
		if c.Endpoint == "all requests" {
			fmt.Fprintf(stdout, "vs %s: %s %.4g -> %.4g (%+.1f%%)\n", summary.Baseline, c.Figure, c.Baseline, c.Now, c.Pct)
		}
	}
	switch {
	case interrupted:
		fmt.Fprintln(stdout, "verdict: INTERRUPTED")
		return exitInterrupted
	case len(summary.Breaches) > 0:
		fmt.Fprintln(stdout, "verdict: FAIL, thresholds breached:")
		for _, b := range summary.Breaches {
			fmt.Fprintln(stdout, "  -", b)
		}
		return exitBreached
	}
	fmt.Fprintln(stdout, "verdict: PASS")
	return exitOK
}

// readOutputs reads the stack's outputs with the pulumi CLI, from the
// project directory this runs in.
func readOutputs(ctx context.Context, stack string) (stackoutputs.Outputs, error) {
	pulumi, err := exec.LookPath("pulumi")
	if err != nil {
		return stackoutputs.Outputs{}, errors.New("the pulumi CLI is not on PATH")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return stackoutputs.Read(ctx, pulumi, ".", stack, nil)
}

// waitForWorkers polls the master until the expected workers are
// connected, saying what it waits for.
func waitForWorkers(ctx context.Context, master *locustapi.Client, o options, stdout io.Writer) (int, error) {
	deadline := time.Now().Add(o.waitWorkers)
	fmt.Fprintf(stdout, "waiting up to %s for %d workers at %s\n", o.waitWorkers, o.expectWorkers, o.masterURL)
	var last error
	connected := 0
	for {
		stats, err := master.Stats(ctx)
		if err == nil {
			connected = stats.ConnectedWorkers()
			if connected >= o.expectWorkers {
				return connected, nil
			}
			if stats.State != locustapi.StateReady && stats.State != locustapi.StateStopped {
				return connected, fmt.Errorf("the master is %s, not ready: a test is already running; stop it in the web UI or wait", stats.State)
			}
		}
		last = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			if last != nil {
				return 0, fmt.Errorf("could not reach the Locust master within %s: %v (is the port-forward open?)", o.waitWorkers, last)
			}
			return connected, fmt.Errorf("only %d of %d workers connected to the master within %s: check the worker pods (kubectl get pods -l app.kubernetes.io/component=worker)", connected, o.expectWorkers, o.waitWorkers)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// watch shows progress until the master stops the run by itself, or ctx
// ends (interrupted).
func watch(ctx context.Context, master *locustapi.Client, o options, started time.Time, tty bool, out io.Writer) (interrupted bool) {
	tick := o.interval
	if tty {
		tick = time.Second
	}
	seenRunning := false
	limit := started.Add(o.runTime + time.Minute) // the master stops at run time; this only bounds the wait
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(out)
			}
			return true
		case <-time.After(tick):
		}
		stats, err := master.Stats(ctx)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			fmt.Fprintln(out, "progress: the master did not answer:", err)
			continue
		}
		elapsed := time.Since(started).Truncate(time.Second)
		line := fmt.Sprintf("%s/%s users %d rps %s failures %.1f%% p95 %s workers %d %s",
			min(elapsed, o.runTime), o.runTime, stats.UserCount, figure(stats.CurrentRPS, "%.1f"), 100*stats.FailRatio,
			figure(stats.CurrentP95Ms, "%.0fms"), stats.ConnectedWorkers(), stats.State)
		if tty {
			done := min(1, float64(elapsed)/float64(o.runTime))
			bar := strings.Repeat("#", int(done*20)) + strings.Repeat(".", 20-int(done*20))
			fmt.Fprintf(out, "\r[%s] %s ", bar, line)
		} else {
			fmt.Fprintln(out, "progress:", line)
		}
		switch stats.State {
		case locustapi.StateSpawning, locustapi.StateRunning:
			seenRunning = true
		case locustapi.StateStopped:
			if seenRunning || time.Since(started) > o.runTime {
				if tty {
					fmt.Fprintln(out)
				}
				return false
			}
		}
		if time.Now().After(limit) {
			fmt.Fprintln(out, "progress: the master has not stopped a minute past the run time; stopping it")
			if err := master.Stop(ctx); err != nil {
				fmt.Fprintln(out, "progress: stopping the swarm:", err)
			}
			return false
		}
	}
}

// figure formats a live figure, or "-" when the master did not send it: a
// missing figure never shows as zero.
func figure(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// save downloads Locust's reports and writes the summary.
func save(ctx context.Context, master *locustapi.Client, o options, started time.Time, workers int, interrupted bool, getenv func(string) string, out io.Writer) (runreport.Summary, string, error) {
	stackDir := filepath.Join(o.resultsDir, o.stack)
	dir := filepath.Join(stackDir, started.Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runreport.Summary{}, "", err
	}
	files := map[string]string{
		"stats.csv":      "/stats/requests/csv",
		"failures.csv":   "/stats/failures/csv",
		"exceptions.csv": "/exceptions/csv",
		"report.html":    "/stats/report",
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		b, err := master.Get(ctx, files[name])
		if err != nil {
			return runreport.Summary{}, dir, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return runreport.Summary{}, dir, err
		}
	}
	f, err := os.Open(filepath.Join(dir, "stats.csv"))
	if err != nil {
		return runreport.Summary{}, dir, err
	}
	stats, err := runreport.ParseStatsCSV(f)
	f.Close()
	if err != nil {
		return runreport.Summary{}, dir, err
	}

	s := runreport.Summary{
		Stack: o.stack, StartedAt: started.Format(time.RFC3339), Image: o.image, Locust: locustVersion(o.image), Workers: workers,
		GitCommit: gitCommit(getenv), Stats: stats, Thresholds: o.thresholds, Interrupted: interrupted,
		Parameters: map[string]string{
			"users": fmt.Sprint(o.users), "spawnRate": fmt.Sprint(o.spawnRate), "runTime": o.runTime.String(),
			"host": o.host, "masterUrl": o.masterURL,
		},
	}
	var store *resultstore.Store
	if o.bucket != "" {
		if store, err = resultstore.New(ctx, o.bucket, o.endpoint); err != nil {
			return s, dir, err
		}
	}
	prev, from, err := findBaseline(ctx, o, stackDir, dir, store)
	if err != nil {
		return s, dir, err
	}
	var baseline *runreport.Stats
	if prev != nil {
		baseline = &prev.Stats
		s.Baseline = from
		s.Changes = runreport.Compare(stats, prev.Stats)
	}
	s.Breaches = o.thresholds.Check(stats, baseline)
	switch {
	case interrupted:
		s.Verdict = "interrupted"
	case len(s.Breaches) > 0:
		s.Verdict = "fail"
	default:
		s.Verdict = "pass"
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return s, dir, err
	}
	md := s.Markdown()
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(md), 0o644); err != nil {
		return s, dir, err
	}
	if store != nil {
		prefix := o.stack + "/" + filepath.Base(dir)
		n, err := store.Upload(ctx, dir, prefix)
		if err != nil {
			return s, dir, err
		}
		fmt.Fprintf(out, "uploaded %d files to s3://%s/%s/\n", n, o.bucket, prefix)
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.WriteString(md)
			f.Close()
		}
	}
	return s, dir, nil
}

// findBaseline reads the summary of the run to compare with: --baseline, or
// the stack's previous run in the results folder, or else in the bucket.
// It returns nil when there is none yet.
func findBaseline(ctx context.Context, o options, stackDir, current string, store *resultstore.Store) (*runreport.Summary, string, error) {
	read := func(b []byte, from string) (*runreport.Summary, string, error) {
		var prev runreport.Summary
		if err := json.Unmarshal(b, &prev); err != nil {
			return nil, "", fmt.Errorf("baseline %s: summary.json: %w", from, err)
		}
		return &prev, from, nil
	}
	if o.baseline != "" {
		b, err := os.ReadFile(filepath.Join(o.baseline, "summary.json"))
		if err != nil {
			return nil, "", fmt.Errorf("--baseline %s: %w", o.baseline, err)
		}
		return read(b, o.baseline)
	}
	if dir := previousRun(stackDir, current); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil {
			return nil, "", err
		}
		return read(b, dir)
	}
	if store == nil {
		return nil, "", nil
	}
	run, err := store.Previous(ctx, o.stack, filepath.Base(current))
	if err != nil || run == "" {
		return nil, "", err
	}
	key := o.stack + "/" + run + "/summary.json"
	b, err := store.Get(ctx, key)
	if errors.Is(err, resultstore.ErrNotFound) {
		return nil, "", nil // an interrupted upload; no baseline rather than none at all
	}
	if err != nil {
		return nil, "", err
	}
	return read(b, "s3://"+o.bucket+"/"+o.stack+"/"+run)
}

// locustVersion is the Locust version of an official image (its tag, as
// in locustio/locust:2.46.3), or "" when the image does not say.
func locustVersion(image string) string {
	ref, _, _ := strings.Cut(image, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") || !strings.HasPrefix(ref, "locustio/locust:") {
		return ""
	}
	return ref[i+1:]
}

// previousRun is the newest earlier run of the stack with a summary.
func previousRun(stackDir, current string) string {
	entries, _ := os.ReadDir(stackDir)
	for i := len(entries) - 1; i >= 0; i-- {
		dir := filepath.Join(stackDir, entries[i].Name())
		if dir >= current {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
			return dir
		}
	}
	return ""
}

func gitCommit(getenv func(string) string) string {
	if sha := getenv("GITHUB_SHA"); sha != "" {
		return sha
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(out))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
