package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// TestSimulatorIsFaithful: a real master, of each Locust version the suite
// runs, takes the simulated workers for real ones: it sees every one of
// them ready, hands them a swarm, stops it, and its totals equal exactly
// what the simulator reported: requests, failures, the occurrences of the
// errors they were filed under, the task exceptions, and (2.29 on) each
// worker's shipped log lines. A simulator the master did not understand
// would show as fewer workers, missing ones, or other totals.
func TestSimulatorIsFaithful(t *testing.T) {
	t.Parallel()
	const workers = 20
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		dir := t.TempDir()
		// The master needs the user class the swarm names; it runs no user.
		locustfile := filepath.Join(dir, "locustfile.py")
		if err := os.WriteFile(locustfile, []byte("from locust import User, task\n\n\nclass Reader(User):\n    @task\n    def read(self):\n        pass\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		bind, web := locusttest.FreePort(t), locusttest.FreePort(t)
		master := locusttest.Start(t, l, "master", []string{l.Python, "-m", "locust", "-f", locustfile, "--master",
			"--master-bind-host=127.0.0.1", fmt.Sprintf("--master-bind-port=%d", bind),
			"--web-host=127.0.0.1", fmt.Sprintf("--web-port=%d", web)}, nil)
		api, err := locustapi.New(fmt.Sprintf("http://127.0.0.1:%d", web))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		// The master binds its worker port before it serves its web UI.
		locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the master's web UI", func() bool {
			_, err := api.Stats(ctx)
			return err == nil
		})
		sent := &totals{samples: &sampleLog{}}
		probe := newLagProbe(fmt.Sprintf("http://127.0.0.1:%d", web))
		go probe.watch(ctx)
		done := make(chan []error, 1)
		go func() {
			cfg := config{master: fmt.Sprintf("127.0.0.1:%d", bind), version: l.Version, rps: 30, endpoints: 5, failRatio: 0.05,
				rtMedian: 60, rtSigma: 1, exceptionRate: 0.5, probe: probe}.withTables(2, 2)
			done <- simulate(ctx, cfg, fleet{workers: workers}, sent, nil)
		}()
		defer func() {
			cancel()
			if errs := <-done; len(errs) > 0 {
				t.Errorf("simulated workers failed: %v", errs)
			}
		}()
		locusttest.WaitFor(t, time.Now().Add(60*time.Second), fmt.Sprintf("%d workers ready", workers), func() bool {
			s, err := api.Stats(ctx)
			return err == nil && s.ConnectedWorkers() == workers
		})
		if err := api.Start(ctx, locustapi.Swarm{Users: 2 * workers, SpawnRate: float64(2 * workers)}); err != nil {
			t.Fatal(err)
		}
		// Two report intervals of load.
		time.Sleep(7 * time.Second)
		if err := api.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := api.SettledStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := sent.requests.Load(); want == 0 || int64(s.Requests) != want || int64(s.Failures) != sent.failures.Load() {
			t.Fatalf("the master counts %d requests, %d failed; the simulator reported %d, %d failed", s.Requests, s.Failures, want, sent.failures.Load())
		}
		// Every request reported, the lag probe's too, has its drawn
		// response time kept (cmd/loadtest's TestShardsMergeSimulatedWorkersExactly
		// reads them).
		if kept := sent.samples.len(); int64(kept) != sent.requests.Load() {
			t.Errorf("the simulator kept %d response times of the %d requests it reported", kept, sent.requests.Load())
		}
		checkFaults(ctx, t, l, fmt.Sprintf("http://127.0.0.1:%d", web), sent, workers)
		// The lag probe saw, in both views, each probe request it sent, and
		// the master counts exactly those under the probe's name.
		var lag lagSummary
		locusttest.WaitFor(t, time.Now().Add(10*time.Second), "the lag probe to see every probe request", func() bool {
			lag = probe.summary()
			return lag.Sent > 0 && lag.SeenCSV == lag.Sent && lag.SeenJSON == lag.Sent
		})
		if got, err := probe.csvCount(ctx); err != nil || got != lag.Sent {
			t.Errorf("the master counts %d requests of %s (%v), the probe sent %d", got, probeName, err, lag.Sent)
		}
		if lag.CSVMedian < 0 || lag.JSONMedian < lag.CSVMedian {
			t.Errorf("stats lag: CSV median %.0f ms, /stats/requests median %.0f ms; want the cached view no earlier than the uncached one", lag.CSVMedian, lag.JSONMedian)
		}
		if ready := locusttest.ReadyWorkers(master.Output()); len(ready) != workers || strings.Contains(master.Output(), "missing") {
			t.Errorf("the master reported %d distinct workers ready (want %d), or some missing:\n%s", len(ready), workers, master.Output())
		}
		t.Logf("Locust %s: %d simulated workers ready, a swarm of %d users run and stopped; the master counts %d requests (%d failed), as reported; "+
			"%d exceptions and %d log messages (%d lines) counted as sent; %d probe reports, stats lag median %.0f ms (CSV), %.0f ms (/stats/requests)",
			l.Version, workers, 2*workers, s.Requests, s.Failures, sent.exceptions.Load(), sent.logMessages.Load(), sent.logLines.Load(), lag.Sent, lag.CSVMedian, lag.JSONMedian)
	})
}

// checkFaults checks that the master at web counts the failures' errors,
// the exceptions and (from 2.29) the log lines the simulator sent.
func checkFaults(ctx context.Context, t *testing.T, l *locusttest.Locust, web string, sent *totals, workers int) {
	t.Helper()
	var failures struct{ occurrences, rows int }
	rows := getCSV(ctx, t, web+"/stats/failures/csv")
	occ := slices.Index(rows[0], "Occurrences")
	for _, r := range rows[1:] {
		n, err := strconv.Atoi(r[occ])
		if err != nil {
			t.Fatalf("/stats/failures/csv: %v in %q", err, r)
		}
		failures.occurrences += n
		failures.rows++
	}
	if int64(failures.occurrences) != sent.failures.Load() || failures.rows == 0 || failures.rows > 5*2 {
		t.Errorf("the master lists %d errors with %d occurrences; the simulator failed %d requests over at most 5 endpoints x 2 texts",
			failures.rows, failures.occurrences, sent.failures.Load())
	}
	var exceptions struct {
		Exceptions []struct {
			Count     int    `json:"count"`
			Traceback string `json:"traceback"`
		} `json:"exceptions"`
	}
	getJSON(ctx, t, web+"/exceptions", &exceptions)
	counted := 0
	for _, e := range exceptions.Exceptions {
		counted += e.Count
	}
	if want := sent.exceptions.Load(); want == 0 || int64(counted) != want || len(exceptions.Exceptions) > 2 {
		t.Errorf("the master counts %d exceptions of %d tracebacks; the simulator raised %d of at most 2", counted, len(exceptions.Exceptions), want)
	}
	if !sendsLogs(l.Version) {
		return
	}
	// A worker ships its logs every 10 s, so one may be on its way: wait
	// for the master to show what each worker shipped last.
	var mismatch string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if mismatch = logsMismatch(ctx, t, l, web, sent, workers); mismatch == "" || time.Now().After(deadline) {
			break
		}
	}
	if mismatch != "" {
		t.Error(mismatch)
	}
}

// logsMismatch compares the master's /logs with what each simulated worker
// shipped last, and says how they differ ("" when they do not).
func logsMismatch(ctx context.Context, t *testing.T, l *locusttest.Locust, web string, sent *totals, workers int) string {
	var logs struct {
		Workers map[string][]string `json:"workers"`
	}
	getJSON(ctx, t, web+"/logs", &logs)
	shipped, mismatch := 0, ""
	sent.shipped.Range(func(id, lines any) bool {
		shipped++
		if got := logs.Workers[id.(string)]; len(got) != lines.(int) || !strings.HasSuffix(got[0], "Starting Locust "+l.Version) {
			mismatch = fmt.Sprintf("the master shows %d log lines of worker %s; it shipped %d, the first \"Starting Locust %s\": %q", len(got), id, lines, l.Version, got)
		}
		return mismatch == ""
	})
	if mismatch == "" && (shipped != workers || len(logs.Workers) != workers) {
		mismatch = fmt.Sprintf("%d simulated workers shipped logs, the master shows %d workers' logs; want %d", shipped, len(logs.Workers), workers)
	}
	return mismatch
}

func getCSV(ctx context.Context, t *testing.T, url string) [][]string {
	t.Helper()
	resp := get(ctx, t, url)
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v, %d rows", url, err, len(rows))
	}
	return rows
}

func getJSON(ctx context.Context, t *testing.T, url string, v any) {
	t.Helper()
	resp := get(ctx, t, url)
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func get(ctx context.Context, t *testing.T, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return resp
}

// TestMasterCapacityScript runs bench/master-capacity.sh briefly, as the
// measurement in docs/performance.md does at length: for each Locust version it must
// print one row in which the master saw every worker ready, marked none
// missing, counted exactly what was reported, and showed the lag probe in
// both views.
func TestMasterCapacityScript(t *testing.T) {
	// Not parallel: a measurement of the master's CPU share and its
	// heartbeats, it runs alone in its package (a master starved by the
	// simulator test beside it marked workers missing).
	locusttest.SkipUnderShort(t)
	out, err := exec.Command("bash", "../master-capacity.sh", "5", "50").Output()
	if err != nil {
		t.Fatalf("bench/master-capacity.sh 5 50: %v\n%s", err, out)
	}
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 16 {
			t.Fatalf("a row of %d columns, want 16: %q", len(f), line)
		}
		rows++
		if f[2] != "50/50" || f[8] != "0" || f[11] != "yes" || f[9] == "0" || f[14] == "-" || f[15] == "-" {
			t.Errorf("Locust %s: ready %s, missing %s, counted %s of %s reported (exact: %s), lag %s and %s; want 50/50, 0, exact, both lags measured",
				f[0], f[2], f[8], f[9], f[10], f[11], f[14], f[15])
		}
	}
	if have, _ := locusttest.Versions(); rows != len(have) {
		t.Errorf("%d rows, want one per Locust version here (%d):\n%s", rows, len(have), out)
	}
	t.Logf("\n%s", out)
}
