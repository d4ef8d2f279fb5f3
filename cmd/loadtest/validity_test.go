package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// switchableTarget is Bookinfo's product page until down is set, then a
// target that answers every request with 503.
type switchableTarget struct {
	app  fakeapps.BookinfoProductPage
	down atomic.Bool
}

func (s *switchableTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.app.ServeHTTP(w, r)
}

// TestInvalidRunsAreNotJudged, on every Locust version: the command owns
// the run's duration, so a run right after an interrupted one lasts its
// whole run time (Locust's own run-time timer, never cancelled, would cut
// it short); a run stopped early by someone else, and a run against a
// target that fails every request, are invalid: exit 4, the reason named,
// and never "pass".
func TestInvalidRunsAreNotJudged(t *testing.T) {
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		target := &switchableTarget{}
		c := startCluster(t, l, target, 2)
		// Long enough that the interrupted run's timer, had Locust one, would
		// fire during the next run: that one starts about 10 s later, once
		// the workers are ready again.
		const runTime = 20 * time.Second
		args := []string{"--stack", "local", "--master-url", c.webURL, "--users", "4", "--spawn-rate", "4",
			"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir()}
		master, err := locustapi.New(c.webURL)
		if err != nil {
			t.Fatal(err)
		}

		// An interrupted run, then at once a whole one.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the first request", func() bool { return c.target.Total() > 0 })
			cancel()
		}()
		if code, stdout, stderr := runCommand(ctx, nil, append(args, "--run-time", runTime.String())...); code != exitInterrupted {
			t.Fatalf("the interrupted run: exit %d, want %d\n%s\n%s", code, exitInterrupted, stdout, stderr)
		}
		code, stdout, stderr := runCommand(context.Background(), nil, append(args, "--run-time", runTime.String())...)
		s := readSummary(t, resultDir(t, stdout))
		if code != exitOK || s.Verdict != runreport.VerdictPass || s.DurationS < runTime.Seconds() || s.EndedAt == "" || !strings.HasPrefix(s.Host, "http://127.0.0.1:") {
			t.Errorf("the run after an interrupted one: exit %d, verdict %s, ran %gs of %s, ended %q, against %q\n%s\n%s",
				code, s.Verdict, s.DurationS, runTime, s.EndedAt, s.Host, stdout, stderr)
		}

		// Someone presses Stop in the web UI 3 s into a 10 s run (long
		// enough for the progress, which reads the master's 2 s cache once
		// a second, to see it).
		before := c.target.Total()
		go func() {
			locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the run's first request", func() bool { return c.target.Total() > before })
			time.Sleep(3 * time.Second)
			master.Stop(context.Background())
		}()
		code, stdout, stderr = runCommand(context.Background(), nil, append(args, "--run-time", "10s")...)
		s = readSummary(t, resultDir(t, stdout))
		if code != exitInvalid || s.Verdict != runreport.VerdictInvalid || len(s.Invalid) != 1 || !strings.Contains(s.Invalid[0], "of its 10s run time") ||
			!strings.Contains(stdout, "verdict: INVALID") {
			t.Errorf("a run stopped after 3s: exit %d (want %d), verdict %s, invalid %q\n%s\n%s", code, exitInvalid, s.Verdict, s.Invalid, stdout, stderr)
		}

		// The target fails every request.
		target.down.Store(true)
		code, stdout, stderr = runCommand(context.Background(), nil, append(args, "--run-time", "5s")...)
		s = readSummary(t, resultDir(t, stdout))
		if code != exitInvalid || s.Verdict != runreport.VerdictInvalid || len(s.Invalid) != 1 || !strings.Contains(s.Invalid[0], "100.0% of requests failed") {
			t.Errorf("a run against a target that fails: exit %d (want %d), verdict %s, invalid %q\n%s\n%s", code, exitInvalid, s.Verdict, s.Invalid, stdout, stderr)
		}
		t.Logf("Locust %s: a whole run after an interrupted one, %gs; a run stopped early and one against a failing target invalid", l.Version, s.DurationS)
	})
}
