package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// TestSavedResultsHoldEveryServedRequest: however a run ends, the results the
// command saves count every request the target answered, on every Locust
// version. Each answer takes 1 s, so users are mid-request when the stop
// comes; the master's --stop-timeout (10 s, as the component renders it)
// lets them finish, and those late answers must be in the results too.
func TestSavedResultsHoldEveryServedRequest(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		for _, end := range []struct {
			name      string
			runTime   time.Duration
			interrupt time.Duration // after the first request; 0: the run time ends the run
		}{
			{"by run time", 5 * time.Second, 0},
			{"by a signal", time.Minute, 5 * time.Second},
		} {
			t.Run(end.name, func(t *testing.T) {
				t.Parallel()
				app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: time.Second, Jitter: 400 * time.Millisecond}
				c := startCluster(t, l, app, 2)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var stopAt time.Time // when the stop began, at the latest
				// The interrupt is waited for before the test ends: a
				// goroutine that fails a finished test panics the whole
				// package.
				interrupter := make(chan struct{})
				if end.interrupt > 0 {
					go func() {
						defer close(interrupter)
						locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the first request", func() bool {
							return ctx.Err() != nil || c.target.Total() > 0 // ctx done: the command ended first, the checks below say how
						})
						select {
						case <-time.After(end.interrupt):
						case <-ctx.Done():
							return
						}
						stopAt = time.Now()
						cancel() // what SIGTERM or Ctrl-C does to main's context
					}()
				} else {
					close(interrupter)
				}
				code, stdout, stderr := runCommand(ctx, nil, "--stack", "local", "--master-url", c.webURL, "--users", "20", "--spawn-rate", "20",
					"--run-time", end.runTime.String(), "--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s",
					"--results-dir", t.TempDir())
				cancel()
				<-interrupter
				want := exitOK
				if end.interrupt > 0 {
					want = exitInterrupted
				} else {
					// The master's run-time timer starts before the first
					// request: by then the stop had begun.
					stopAt = app.First().Add(end.runTime)
				}
				if code != want {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
				}
				dir := resultDir(t, stdout)
				s := readSummary(t, dir)
				served := c.target.Total()
				checkHistograms(t, dir, s, served)
				late := app.AnsweredAfter(stopAt)
				if s.Stats.Total.Requests != served {
					t.Errorf("the target answered %d requests (%d of them after the stop began), summary.json counts %d", served, late, s.Stats.Total.Requests)
				}
				if late == 0 {
					t.Errorf("no request was answered after the stop began: the test did not stop users mid-request")
				}
				t.Logf("Locust %s, ended %s: the target answered %d requests, %d after the stop began; summary.json counts %d",
					l.Version, end.name, served, late, s.Stats.Total.Requests)
			})
		}
	})
}

// checkHistograms: histogram.json holds every request the target served,
// and the summary's percentiles are those of the histograms, which equal
// Locust's own CSV figures: the CSV takes them with the same function from
// the same dict (get_response_time_percentile, stats.py@2.46.3:1040-1046),
// and no request here lacks a response time.
func checkHistograms(t *testing.T, dir string, s runreport.Summary, served int) {
	t.Helper()
	var dist distribution.Run
	readJSON(t, filepath.Join(dir, "histogram.json"), &dist)
	if dist.Total.Requests != int64(served) || dist.Total.ResponseTimes.Count() != int64(served) {
		t.Errorf("histogram.json: %d requests, %d in buckets; the target answered %d", dist.Total.Requests, dist.Total.ResponseTimes.Count(), served)
	}
	if s.PercentilesFrom != runreport.FromHistogram {
		t.Errorf("summary.json percentilesFrom %q, want %q", s.PercentilesFrom, runreport.FromHistogram)
	}
	f, err := os.Open(filepath.Join(dir, "stats.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	csvStats, err := runreport.ParseStatsCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		p             float64
		summary, lcsv float64
	}{{0.5, s.Stats.Total.P50Ms, csvStats.Total.P50Ms}, {0.95, s.Stats.Total.P95Ms, csvStats.Total.P95Ms}, {0.99, s.Stats.Total.P99Ms, csvStats.Total.P99Ms}} {
		want, _ := dist.Total.ResponseTimes.Percentile(q.p)
		if q.summary != float64(want) {
			t.Errorf("summary p%g %g ms, the histograms say %d ms", q.p*100, q.summary, want)
		}
		if q.summary != q.lcsv {
			t.Errorf("summary p%g %g ms, Locust's CSV %g ms", q.p*100, q.summary, q.lcsv)
		}
	}
}

// TestProgressShowsWhatTheMasterSends: the live p95 and request rate come
// from the keys each Locust version sends, checked against the target: a
// 300 ms answer cannot have a p95 under 300 ms, and a rate shown must be
// one the target saw.
func TestProgressShowsWhatTheMasterSends(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: 300 * time.Millisecond}
		c := startCluster(t, l, app, 2)
		master, err := locustapi.New(c.webURL)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var live []locustapi.Stats
		var mu sync.Mutex
		go func() {
			// What the command's progress reads, read beside it.
			for ctx.Err() == nil {
				if s, err := master.Stats(ctx); err == nil && s.State == locustapi.StateRunning {
					mu.Lock()
					live = append(live, s)
					mu.Unlock()
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		code, stdout, stderr := runCommand(ctx, nil, "--stack", "local", "--master-url", c.webURL, "--users", "6", "--spawn-rate", "6",
			"--run-time", "8s", "--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir())
		cancel()
		if code != exitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		var p95s, rates []float64
		for _, s := range live {
			if s.CurrentP95Ms != nil {
				p95s = append(p95s, *s.CurrentP95Ms)
			}
			if s.CurrentRPS != nil && s.Requests > 0 {
				rates = append(rates, *s.CurrentRPS)
			}
		}
		if len(p95s) == 0 || len(rates) == 0 {
			t.Fatalf("Locust %s sent no live p95 (%d readings) or rate (%d) in %d readings while running", l.Version, len(p95s), len(rates), len(live))
		}
		for _, p := range p95s {
			if p != 0 && p < 300 {
				t.Errorf("live p95 %.0f ms, but every answer took at least 300 ms", p)
			}
		}
		// Six users, each waiting 0.5 to 1.5 s between 300 ms answers, send
		// at most two requests in any one second: 12 per second at most.
		if peak := maxOf(rates); peak <= 0 || peak > 12 {
			t.Errorf("live rates %v: the target can have served at most 12 per second, and some", rates)
		}
		if !progressP95.MatchString(stdout) {
			t.Errorf("no progress line showed the p95 the master sent:\n%s", stdout)
		}
		t.Logf("Locust %s: live p95 %v ms, rates %v /s; the target answered %d requests", l.Version, p95s, rates, c.target.Total())
	})
}

// progressP95 is a progress line's p95 when the master sent one.
var progressP95 = regexp.MustCompile(`p95 [0-9]+ms`)

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}

// TestGateBaselines: the regression gate's baseline is the stack's last
// passing runs with the same parameters, newest first, at most
// --baseline-runs of them; failed runs and runs of another shape are left
// out, and so is anything not older than the current run.
func TestGateBaselines(t *testing.T) {
	stackDir := t.TempDir()
	params := map[string]string{"users": "10", "spawnRate": "1", "runTime": "1m0s", "host": "http://target"}
	other := map[string]string{"users": "50", "spawnRate": "1", "runTime": "1m0s", "host": "http://target"}
	runs := []struct {
		name    string
		verdict string
		params  map[string]string
	}{
		{"20260101T000000Z", "pass", params},
		{"20260102T000000Z", "pass", params},
		{"20260103T000000Z", "fail", params},
		{"20260104T000000Z", "pass", other},
		{"20260105T000000Z", "pass", params},
		{"20260106T000000Z", "pass", params},
		{"20260107T000000Z", "pass", params}, // the current run
	}
	for i, r := range runs {
		dir := filepath.Join(stackDir, r.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(runreport.Summary{Verdict: r.verdict, Parameters: r.params, Stats: runreport.Stats{Total: runreport.Endpoint{Name: runreport.TotalName, P95Ms: float64(100 + i)}}})
		if err := os.WriteFile(filepath.Join(dir, "summary.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current := filepath.Join(stackDir, runs[len(runs)-1].name)
	stats, dirs, err := gateBaselines(context.Background(), options{baselineRuns: 3}, params, stackDir, current, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"20260106T000000Z", "20260105T000000Z", "20260102T000000Z"}
	if len(dirs) != len(want) || len(stats) != len(want) {
		t.Fatalf("baselines %v, want %v", dirs, want)
	}
	for i, d := range dirs {
		if filepath.Base(d) != want[i] {
			t.Errorf("baseline %d is %s, want %s", i, filepath.Base(d), want[i])
		}
	}
	if stats[0].Stats.Total.P95Ms != 105 {
		t.Errorf("the newest baseline's p95 %g, want 105", stats[0].Stats.Total.P95Ms)
	}
}
