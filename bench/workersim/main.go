// Command workersim stands in for many Locust workers at once, to measure
// how many one real master holds: each simulated worker speaks Locust's own
// worker protocol (ZeroMQ, msgpack; see protocol.go) to the master,
// heartbeats, answers spawn and stop, and reports stats shaped like a real
// worker's. It is a measuring tool, not part of the product.
//
//	go run ./bench/workersim --master 127.0.0.1:5557 --workers 200 --rps 50
//
// It runs until --duration passes or it is interrupted, printing progress
// every 10 s, then prints what it sent in total as one JSON line
// ({"workers":..,"requests":..,"failures":..,"exceptions":..,"logMessages":..,
// "logLines":..,"vanished":..}) for the bench scripts; with --web, also the
// stats lag it measured ("lag", lag.go), and with --ui what polling the
// web UI's endpoints met ("ui", ui.go). With --samples it also writes every
// reported request's response time as drawn (samples.go).
// Exit codes: 0 done, 1 a worker failed (the master said quit, or could not
// be reached) or the samples could not be written, 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.master, "master", "127.0.0.1:5557", "the master's --master-bind-host:--master-bind-port")
	flag.StringVar(&cfg.version, "version", "2.24.0", "the Locust version the workers announce (the master warns on another minor version); from 2.29 they ship their logs, from 2.44 errors carry first_seen/last_seen")
	flag.Float64Var(&cfg.rps, "rps", 20, "requests per second each worker reports while its users run")
	flag.IntVar(&cfg.endpoints, "endpoints", 10, "distinct endpoints the requests spread over")
	flag.Float64Var(&cfg.failRatio, "fail-ratio", 0.01, "share of requests reported as failed")
	flag.Float64Var(&cfg.rtMedian, "rt-median", 0, "median response time in ms of a lognormal distribution; 0: uniform 5-204 ms")
	flag.Float64Var(&cfg.rtSigma, "rt-sigma", 1.0, "the lognormal's shape (1.0: p99 about 10 times the median)")
	errorKinds := flag.Int("error-kinds", 1, "distinct error texts per endpoint that failures are filed under")
	flag.Float64Var(&cfg.exceptionRate, "exceptions", 0, "task exceptions each running worker raises per second")
	exceptionKinds := flag.Int("exception-kinds", 3, "distinct tracebacks the exceptions have")
	plan := fleet{}
	flag.IntVar(&plan.workers, "workers", 10, "simulated workers")
	flag.IntVar(&plan.rampStep, "ramp-step", 0, "workers joining per ramp step; 0: all at once")
	flag.DurationVar(&plan.rampEvery, "ramp-every", 10*time.Second, "time between ramp steps")
	flag.IntVar(&plan.churn, "churn", 0, "workers that vanish (no quit, as killed pods) at --churn-at, replaced by as many new ones")
	flag.DurationVar(&plan.churnAt, "churn-at", time.Minute, "when the churn step comes, after the last ramp step")
	duration := flag.Duration("duration", 0, "how long to run; 0: until interrupted")
	web := flag.String("web", "", "the master's web UI (http://host:port): measure the stats lag there (lag.go)")
	ui := flag.Bool("ui", false, "with --web, also poll what an open web UI polls every 5 s: /logs, /tasks, /exceptions (ui.go)")
	samples := flag.String("samples", "", "write to this file the response time of every request reported, in ms as drawn before Locust's rounding, one a line (samples.go; kept in memory until the end: 8 bytes a request)")
	flag.Parse()
	if plan.workers < 1 || cfg.rps < 0 || cfg.endpoints < 1 || cfg.failRatio < 0 || cfg.failRatio > 1 || cfg.rtMedian < 0 || cfg.rtSigma < 0 ||
		*errorKinds < 1 || cfg.exceptionRate < 0 || *exceptionKinds < 1 || plan.rampStep < 0 || plan.churn < 0 || plan.churn >= plan.workers {
		fmt.Fprintln(os.Stderr, "workersim: --workers, --endpoints, --error-kinds and --exception-kinds must be at least 1, --churn below --workers, --fail-ratio from 0 to 1, the rest not negative")
		os.Exit(2)
	}
	cfg = cfg.withTables(*errorKinds, *exceptionKinds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var probe *lagProbe
	var poller *uiPoller
	if *web != "" {
		probe = newLagProbe(strings.TrimSuffix(*web, "/"))
		cfg.probe = probe
		go probe.watch(ctx)
		if *ui {
			poller = newUIPoller(strings.TrimSuffix(*web, "/"))
			go poller.watch(ctx)
		}
	}
	sent := &totals{}
	if *samples != "" {
		sent.samples = &sampleLog{}
	}
	errs := simulate(ctx, cfg, plan, sent, func(running int) {
		fmt.Fprintf(os.Stderr, "workersim: %d workers connected to %s, %d requests reported\n", running, cfg.master, sent.requests.Load())
	})
	if *samples != "" {
		if err := sent.samples.write(*samples); err != nil {
			errs = append(errs, fmt.Errorf("writing the samples: %w", err))
		}
	}
	result := map[string]any{"workers": plan.workers, "requests": sent.requests.Load(), "failures": sent.failures.Load(),
		"exceptions": sent.exceptions.Load(), "logMessages": sent.logMessages.Load(), "logLines": sent.logLines.Load(), "vanished": plan.churn}
	if probe != nil {
		result["lag"] = probe.summary()
	}
	if poller != nil {
		result["ui"] = poller.summary()
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
	for _, err := range errs {
		fmt.Fprintln(os.Stderr, "workersim:", err)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

// withTables adds the endpoints' names, their error texts and the
// exceptions' tracebacks, which every worker shares.
func (c config) withTables(errorKindsPerEndpoint, exceptionKindsInAll int) config {
	c.names = make([]string, c.endpoints)
	for i := range c.names {
		c.names[i] = fmt.Sprintf("/endpoint/%d", i)
	}
	c.errors = errorKinds(c.names, errorKindsPerEndpoint)
	c.exceptions = exceptionKinds(exceptionKindsInAll)
	return c
}
