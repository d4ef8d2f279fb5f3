// Command workersim stands in for many Locust workers at once, to measure
// how many one real master holds: each simulated worker speaks Locust's own
// worker protocol (ZeroMQ, msgpack; see protocol.go) to the master,
// heartbeats, answers spawn and stop, and reports stats shaped like a real
// worker's. It is a measuring tool, not part of the product.
//
//	go run ./bench/workersim --master 127.0.0.1:5557 --workers 200 --rps 50
//
// It runs until --duration passes or it is interrupted, printing progress
// every 10 s, then prints what it reported in total as one JSON line
// ({"workers":..,"requests":..,"failures":..}) for the bench scripts; with
// --web, also the stats lag it measured ("lag", lag.go).
// Exit codes: 0 done, 1 a worker failed (the master said quit, or could not
// be reached), 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.master, "master", "127.0.0.1:5557", "the master's --master-bind-host:--master-bind-port")
	flag.StringVar(&cfg.version, "version", "2.24.0", "the Locust version the workers announce (the master warns on another minor version)")
	flag.Float64Var(&cfg.rps, "rps", 20, "requests per second each worker reports while its users run")
	flag.IntVar(&cfg.endpoints, "endpoints", 10, "distinct endpoints the requests spread over")
	flag.Float64Var(&cfg.failRatio, "fail-ratio", 0.01, "share of requests reported as failed")
	workers := flag.Int("workers", 10, "simulated workers")
	duration := flag.Duration("duration", 0, "how long to run; 0: until interrupted")
	web := flag.String("web", "", "the master's web UI (http://host:port): measure the stats lag there (lag.go)")
	flag.Parse()
	if *workers < 1 || cfg.rps < 0 || cfg.endpoints < 1 || cfg.failRatio < 0 || cfg.failRatio > 1 {
		fmt.Fprintln(os.Stderr, "workersim: --workers and --endpoints must be at least 1, --rps not negative, --fail-ratio from 0 to 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var probe *lagProbe
	if *web != "" {
		probe = newLagProbe(strings.TrimSuffix(*web, "/"))
		cfg.probe = probe
		go probe.watch(ctx)
	}
	sent := &totals{}
	errs := simulate(ctx, cfg, *workers, sent, func(running int) {
		fmt.Fprintf(os.Stderr, "workersim: %d workers connected to %s, %d requests reported\n", running, cfg.master, sent.requests.Load())
	})
	result := map[string]any{"workers": *workers, "requests": sent.requests.Load(), "failures": sent.failures.Load()}
	if probe != nil {
		result["lag"] = probe.summary()
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

// simulate runs n workers until ctx ends, calling progress every 10 s, and
// returns the errors of the workers that failed.
func simulate(ctx context.Context, cfg config, n int, sent *totals, progress func(running int)) []error {
	host, _ := os.Hostname()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		// Locust's own node ids are <hostname>_<uuid hex>.
		wcfg := cfg
		if i > 0 {
			wcfg.probe = nil // one worker dates the reports
		}
		w := newWorker(fmt.Sprintf("%s_sim%08x%024x", host, i, time.Now().UnixNano()), wcfg, sent, uint64(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			close(errs)
			var out []error
			for err := range errs {
				out = append(out, err)
			}
			return out
		case <-tick.C:
			if progress != nil {
				progress(n)
			}
		}
	}
}
