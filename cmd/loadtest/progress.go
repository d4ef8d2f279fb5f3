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

// watch shows progress until the run time is up, when it stops the swarm
// itself; or until the master stops it by itself before that (cut short:
// someone pressed Stop, the last worker left); or until ctx ends
// (interrupted), when the caller stops it. loadtest, not Locust, ends the
// run: a run_time sent to /swarm schedules a timer Locust never cancels
// (web.py@2.12.1:232-233, @2.24.0:268-269, @2.46.7:352-353), which would
// cut short the next run after an interrupted one.
func watch(ctx context.Context, master *locustapi.Client, o options, started time.Time, tty bool, out io.Writer) (ended time.Time, interrupted bool) {
	tick := o.interval
	if tty {
		tick = time.Second
	}
	seenRunning := false
	runEnd := time.NewTimer(time.Until(started.Add(o.runTime)))
	defer runEnd.Stop()
	endLine := func() {
		if tty {
			fmt.Fprintln(out)
		}
	}
	for {
		select {
		case <-ctx.Done():
			endLine()
			return time.Now().UTC(), true
		case <-runEnd.C:
			endLine()
			fmt.Fprintf(out, "progress: the run time is up; stopping the swarm and waiting up to %s for the workers' last reports\n", locustapi.StopTimeout)
			// On a context of its own: a signal now must not lose the
			// workers' last reports.
			if err := master.Stop(context.Background()); err != nil {
				fmt.Fprintln(out, "progress: stopping the swarm:", err)
			}
			return time.Now().UTC(), false
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
			// Before the master has said running, "stopped" may be its
			// cached answer from before the start.
			if seenRunning {
				endLine()
				fmt.Fprintf(out, "progress: the master stopped the run after %s of its %s\n", time.Since(started).Round(time.Second), o.runTime)
				return time.Now().UTC(), false
			}
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
