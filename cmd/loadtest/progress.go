package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
)

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
		progressLine(out, o, stats, time.Since(started).Truncate(time.Second), tty)
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

// progressLine shows the live figures: a bar redrawn in place on a
// terminal, else a line each time.
func progressLine(out io.Writer, o options, stats locustapi.Stats, elapsed time.Duration, tty bool) {
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
}

// figure formats a live figure, or "-" when the master did not send it: a
// missing figure never shows as zero.
func figure(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
