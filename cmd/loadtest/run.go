package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/kubeforward"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// webPort is the master Service's web port (components.WebPort; this
// command does not import the component).
const webPort = 8089

// run runs the subcommand args name, else a load test, and returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		if sc, ok := findSubcommand(args[0]); ok {
			return sc.run(args[1:], stdout, stderr)
		}
	}
	launched := time.Now()
	o, err := parseFlags(args)
	if err != nil {
		return usageFailed(err, "", stdout, stderr)
	}
	o.webUsername, o.webPassword = getenv("LOCUST_EKS_WEB_USERNAME"), getenv("LOCUST_EKS_WEB_PASSWORD")
	stacks, err := readStacks(ctx, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	members, err := testMembers(stacks)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	if len(members) > 1 {
		return runSeveral(ctx, o, stacks, members, launched, stdout, stderr, getenv)
	}
	if stacks[0].hasOutputs {
		o.applyOutputs(stacks[0].out)
		if members[0].service != "" {
			closeForward, err := forwardToMaster(ctx, &o, stacks[0].out, members[0].service, stdout, stderr)
			if err != nil {
				fmt.Fprintln(stderr, "loadtest:", err)
				return exitCouldNotRun
			}
			defer closeForward()
		}
	}
	master, err := connectMaster(ctx, &o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	workers, err := waitForWorkers(ctx, master, o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	ran, err := runSwarm(ctx, master, o, workers, launched, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}

	saveCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	summary, dir, err := save(saveCtx, master, o, ran, workers, getenv, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	return reportVerdict(summary, dir, stdout)
}

// forwardToMaster opens a port-forward to the master Service service of
// the stack whose outputs are out, points o.masterURL at it and reads the
// checksum of the locustfiles its pod runs; the caller closes it.
func forwardToMaster(ctx context.Context, o *options, out stackoutputs.Outputs, service string, stdout, stderr io.Writer) (closeForward func(), err error) {
	fmt.Fprintf(stdout, "port-forward to service/%s in namespace %s\n", service, out.Namespace)
	fwd, err := kubeforward.ToService(ctx, kubeforward.Config{Kubeconfig: []byte(out.Kubeconfig), Context: out.KubeContext}, out.Namespace, service, webPort)
	if err != nil {
		return nil, fmt.Errorf("reaching the master: %w", err)
	}
	o.masterURL = forwardedURL(out, fwd.LocalPort)
	fmt.Fprintf(stdout, "forwarding 127.0.0.1:%d to pod %s\n", fwd.LocalPort, fwd.Pod)
	if o.locustfilesSHA256, err = locustfilesChecksum(ctx, []byte(out.Kubeconfig), out.KubeContext, out.Namespace, fwd.Pod); err != nil {
		// The run stands without it; only the check of its locustfiles
		// against its baselines' is lost.
		fmt.Fprintf(stderr, "loadtest: the locustfiles' checksum is unknown: %v\n", err)
	}
	return func() { fwd.Close() }, nil
}

// connectMaster is a client of the master's web API: pinned to the
// certificate the master must present, if any, and logged in to the web
// UI when it is behind the stack's login.
func connectMaster(ctx context.Context, o *options, stdout io.Writer) (*locustapi.Client, error) {
	master, err := locustapi.New(o.masterURL)
	if err != nil {
		return nil, err
	}
	if o.masterCertificate != "" {
		b, err := os.ReadFile(o.masterCertificate)
		if err != nil {
			return nil, fmt.Errorf("--master-certificate: %w", err)
		}
		o.masterCertificatePEM = string(b)
	}
	if o.masterCertificatePEM != "" {
		if err := master.PinCertificate(o.masterCertificatePEM); err != nil {
			return nil, err
		}
	}
	if o.webUsername != "" {
		if err := master.Login(ctx, o.webUsername, o.webPassword); err != nil {
			return nil, fmt.Errorf("logging in to the web UI as %q: %v (the password comes from LOCUST_EKS_WEB_PASSWORD, else the stack's webPassword output)", o.webUsername, err)
		}
		fmt.Fprintf(stdout, "logged in to the web UI as %s\n", o.webUsername)
	}
	return master, nil
}

// swarmRun is what a run was: when it started and ended, the target the
// master ran it against, and whether a signal interrupted it.
type swarmRun struct {
	started, ended time.Time
	host           string
	interrupted    bool
}

// runSwarm starts the swarm, with no run time of Locust's (watch ends the
// run), and shows progress until the run ends, or ctx ends it
// (interrupted): then it stops the swarm, on a context of its own, so that
// the workers' last reports reach the results. The error is a swarm that
// did not start.
func runSwarm(ctx context.Context, master *locustapi.Client, o options, workers int, launched time.Time, stdout, stderr io.Writer) (swarmRun, error) {
	r := swarmRun{started: time.Now().UTC()}
	fmt.Fprintf(stdout, "starting %d users at %g/s for %s with %d workers\n", o.users, o.spawnRate, o.runTime, workers)
	host, err := master.StartSwarm(ctx, locustapi.Swarm{Users: o.users, SpawnRate: o.spawnRate, Host: o.host})
	if err != nil {
		return r, err
	}
	r.host = host
	// bench/loadtest-overhead.sh reads this line as it is.
	fmt.Fprintf(stdout, "swarm started %.2fs after launch\n", time.Since(launched).Seconds())
	fmt.Fprintf(stdout, "target: %s\n", host)
	r.ended, r.interrupted = watch(ctx, master, o, r.started, isTerminal(stdout), stdout)
	if r.interrupted {
		fmt.Fprintf(stdout, "interrupted: stopping the swarm and waiting up to %s for the workers' last reports\n", locustapi.StopTimeout)
		if err := master.Stop(context.Background()); err != nil {
			fmt.Fprintln(stderr, "loadtest: stopping the swarm:", err)
		} else {
			fmt.Fprintln(stdout, "interrupted: the swarm is stopped; saving what the run has so far")
		}
		r.ended = time.Now().UTC()
	}
	return r, nil
}

// reportVerdict prints where the results are, the run's figures and its changes
// against the baseline, and the verdict; it returns the exit code.
func reportVerdict(summary runreport.Summary, dir string, stdout io.Writer) int {
	fmt.Fprintf(stdout, "results: %s\n", dir)
	fmt.Fprintf(stdout, "%d requests, %d failures, %.1f rps, p95 %.0f ms, p99 %.0f ms\n",
		summary.Stats.Total.Requests, summary.Stats.Total.Failures, summary.Stats.Total.RPS, summary.Stats.Total.P95Ms, summary.Stats.Total.P99Ms)
	for _, c := range summary.Changes {
		if c.Endpoint == "all requests" {
			fmt.Fprintf(stdout, "vs %s: %s %.4g -> %.4g (%s)\n", summary.Baseline, c.Figure, c.Baseline, c.Now, c.Text())
		}
	}
	switch summary.Verdict {
	case runreport.VerdictInterrupted:
		fmt.Fprintln(stdout, "verdict: INTERRUPTED")
		return exitInterrupted
	case runreport.VerdictInvalid:
		fmt.Fprintln(stdout, "verdict: INVALID, the run cannot be judged:")
		for _, why := range summary.Invalid {
			fmt.Fprintln(stdout, "  -", why)
		}
		return exitInvalid
	case runreport.VerdictFail:
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

// forwardedURL is the master's web UI through a port-forward to localPort:
// https when Locust serves TLS itself (the stack's webTlsCertificate), and
// under the path it serves the UI at (webPath, for an Ingress's sub-path).
func forwardedURL(out stackoutputs.Outputs, localPort int) string {
	scheme := "http"
	if out.WebTLSCertificate != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, localPort, out.WebPath)
}
