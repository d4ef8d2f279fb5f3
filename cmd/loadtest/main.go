// Command loadtest runs one load test against a deployed LocustCluster's
// master, records the results and gates on them:
//
//	go run ./cmd/loadtest --stack dev --master-url http://localhost:8089 \
//	    --users 200 --spawn-rate 20 --run-time 5m --expect-workers 10 \
//	    --max-fail-ratio 0.01 --max-p95-ms 800
//
// It waits for the workers, resets the stats, starts the swarm through the
// master's web API, shows progress, and when the run ends (or on Ctrl-C or
// SIGTERM, after stopping the swarm) saves Locust's stats, failures and
// exceptions CSV, its HTML report, a summary.json and a summary.md under
// results/<stack>/<UTC time>/, compares with the previous run of the stack
// (or --baseline) and checks the thresholds. In GitHub Actions the Markdown
// summary also goes to the job summary.
//
// Subcommands read or mark the results, and help explains them:
//
//	go run ./cmd/loadtest history --stack dev   the last runs as a table, and their trend (trend.svg)
//	go run ./cmd/loadtest accept --stack dev RUN   accept RUN as the new level: the regression gate's baseline from it on
//	go run ./cmd/loadtest compare A B           per-endpoint changes from run folder A to run folder B
//	go run ./cmd/loadtest help [SUBCOMMAND]     the usage of loadtest or of a subcommand (also: -h)
//
// Exit codes: 0 the run passed its thresholds (or the usage was asked
// for); 1 thresholds breached (they are listed); 2 the test could not run
// (bad flags, master unreachable, workers missing); 3 interrupted (partial
// results saved); 4 the run is invalid, too small or unlike its baselines
// to be judged (the reasons are listed). usage.go lists them in full, as
// -h prints them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as mainUsage describes them. Numbers, not iota: the usage
// test reads them from the source.
const (
	exitOK          = 0
	exitBreached    = 1
	exitCouldNotRun = 2
	exitInterrupted = 3
	exitInvalid     = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
