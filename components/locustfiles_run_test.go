package components

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
)

// Every shipped locustfile, run by a real master and two real workers from
// the rendered specs, against a fake of the application it is written for
// (internal/testsupport/fakeapps: built from the applications' own source).

// runResult is what one distributed run left behind.
type runResult struct {
	masterCode  int
	workerCodes []int
	ready       []string
	hits        map[string]int
	errors      []string
	requests    int
	failures    int
	rps         float64
	// exceptions are the errors raised in user code, from the master's
	// exceptions CSV: a request whose check raised is missing from the
	// stats and shows here instead.
	exceptions []string
}

// runLocustfile runs locustfile with a master and two workers against app
// for a few seconds and waits for all three processes to exit by themselves.
func runLocustfile(t *testing.T, l *locust, locustfile string, app http.Handler) runResult {
	t.Helper()
	target := newFakeTarget(t, app)
	p := localPlan(t, l, locustfile, target.URL, 4, "6s")
	deadline := time.Now().Add(90 * time.Second)
	master := start(t, l, "master", p.master, p.masterEnv)
	workers := []*process{
		start(t, l, "worker-1", p.worker, p.workerEnv),
		start(t, l, "worker-2", p.worker, p.workerEnv),
	}
	r := runResult{masterCode: master.Wait(t, deadline)}
	for _, w := range workers {
		r.workerCodes = append(r.workerCodes, w.Wait(t, deadline))
	}
	r.ready = readyWorkers(master.Output())
	r.hits, r.errors = target.Hits(), target.Errors()
	r.requests, r.failures, r.rps = aggregate(t, p.csvPrefix)
	r.exceptions = exceptions(t, p.csvPrefix)
	return r
}

// countLocustfile runs locustfile with a master and two workers against app
// for 6 s, started and stopped through the master's web API as cmd/loadtest
// runs a test, and reads the figures once the master says stopped. A
// headless master quits at its run time and waits only 0.5 s for the
// workers' last reports (MasterRunner.quit, runners.py@2.12.1:910-916,
// @2.24.0:908), so on a starved machine its count can miss requests the
// target served; the stop through the API returns once every worker has
// sent client_stopped, after its last report (locust_eks_worker.py). Only
// the figures are read: the processes are ended by the test's cleanup.
func countLocustfile(t *testing.T, l *locust, locustfile string, app http.Handler) runResult {
	t.Helper()
	target := newFakeTarget(t, app)
	run := startWebRun(t, l, locustfile, target)
	ctx := context.Background()
	if err := run.api.Start(ctx, locustapi.Swarm{Users: 4, SpawnRate: 4}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	if err := run.api.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := run.api.Get(ctx, "/stats/requests/csv")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := runreport.ParseStatsCSV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	b, err = run.api.Get(ctx, "/exceptions/csv")
	if err != nil {
		t.Fatal(err)
	}
	return runResult{hits: target.Hits(), errors: target.Errors(), requests: stats.Total.Requests, failures: stats.Total.Failures,
		exceptions: exceptionRows(t, bytes.NewReader(b))}
}

func TestLocustfilesRunDistributed(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		files, err := ReadLocustfiles(locustfileDir)
		if err != nil {
			t.Fatal(err)
		}
		for name := range files {
			if !strings.HasSuffix(name, ".py") {
				continue
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				target, ok := targets[name]
				if !ok {
					t.Fatalf("locustfiles/%s has no fake target: add its application to targets (faketarget_test.go) and internal/testsupport/fakeapps", name)
				}
				r := runLocustfile(t, l, name, target.app())
				if r.masterCode != 0 || slices.ContainsFunc(r.workerCodes, func(c int) bool { return c != 0 }) {
					t.Errorf("exit codes: master %d, workers %v; want all 0", r.masterCode, r.workerCodes)
				}
				if len(r.ready) != 2 {
					t.Errorf("master reported %d workers ready (%v), want 2", len(r.ready), r.ready)
				}
				for _, e := range target.endpoints {
					if r.hits[e] == 0 {
						t.Errorf("%s received no requests; hits: %v", e, r.hits)
					}
				}
				for e := range r.hits {
					if !slices.Contains(target.endpoints, e) {
						t.Errorf("unexpected requests to %s", e)
					}
				}
				if len(r.errors) > 0 {
					t.Errorf("the application refused requests: %v", r.errors)
				}
				if r.requests == 0 || r.failures != 0 {
					t.Errorf("CSV stats: %d requests, %d failures; want some and none", r.requests, r.failures)
				}
				t.Logf("Locust %s: master + 2 workers ran %s: %d requests (%.1f/s), %d failures; target hits %v",
					l.Version, name, r.requests, r.rps, r.failures, r.hits)
			})
		}
	})
}

// TestLocustfilesSeeBrokenApps runs locustfiles against applications that
// answer, but wrongly: a load test must fail (Locust exits 1 when any request
// failed), not report a broken system as fast. And against an older API that
// a locustfile says it tolerates, the run must pass.
func TestLocustfilesSeeBrokenApps(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		for _, tc := range []struct {
			name, locustfile string
			app              http.Handler
			wantFail         bool
			wantHit          []string
		}{
			{"bookinfo details down", "bookinfo.py", &fakeapps.BookinfoProductPage{DetailsDown: true}, true, nil},
			{"bookinfo ratings down", "bookinfo.py", &fakeapps.BookinfoProductPage{RatingsDown: true}, true, nil},
			{"fights refuse heroes without pictures", "quarkus_super_heroes.py", &fakeapps.SuperHeroesFights{HeroesWithoutPictures: true}, true, nil},
			{"fights before the location service", "quarkus_super_heroes.py", &fakeapps.SuperHeroesFights{WithoutLocations: true}, false,
				[]string{"GET /api/fights/randomfighters", "GET /api/fights/randomlocation", "POST /api/fights"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := runLocustfile(t, l, tc.locustfile, tc.app)
				if tc.wantFail {
					if r.masterCode == 0 || r.failures == 0 {
						t.Errorf("master exited %d with %d failures in %d requests; want a non-zero exit and failures", r.masterCode, r.failures, r.requests)
					}
				} else if r.masterCode != 0 || r.failures != 0 || r.requests == 0 {
					t.Errorf("master exited %d with %d failures in %d requests; want 0, none and some", r.masterCode, r.failures, r.requests)
				}
				for _, e := range tc.wantHit {
					if r.hits[e] == 0 {
						t.Errorf("%s received no requests; hits: %v", e, r.hits)
					}
				}
				t.Logf("Locust %s, %s against %s: master exit %d, %d requests, %d failures; hits %v",
					l.Version, tc.locustfile, tc.name, r.masterCode, r.requests, r.failures, r.hits)
			})
		}
	})
}

// brokenServer is a target that fails the way real ones do under load, for
// any route: it closes the connection without an answer, answers an HTML
// error page with 200 (a proxy's or a framework's), or answers a JSON array
// where an object is expected. It is no model of an application: it breaks
// the assumptions a locustfile makes about its answers.
type brokenServer string

const (
	closesConnections brokenServer = "closes connections"
	answersHTML       brokenServer = "answers HTML"
	answersArrays     brokenServer = "answers [] for objects"
)

func (b brokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch b {
	case closesConnections:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case answersHTML:
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
	case answersArrays:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]"))
	}
}

// TestLocustfilesRecordEveryRequest: whatever a target answers, every
// request a locustfile makes is in the stats, as a success or a failure
// with a reason; none is lost to an exception raised inside a
// catch_response block (Locust then records nothing: fasthttp.py@2.46.3:
// 738-743, the same at 2.12.1 and 2.24.0).
func TestLocustfilesRecordEveryRequest(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		for _, tc := range []struct {
			locustfile string
			server     brokenServer
		}{
			{"bookinfo.py", closesConnections},
			{"quarkus_super_heroes.py", closesConnections},
			{"quarkus_super_heroes.py", answersHTML},
			{"quarkus_super_heroes.py", answersArrays},
			{"cloud_carbon_footprint.py", closesConnections},
			{"cloud_carbon_footprint.py", answersHTML},
			{"cloud_carbon_footprint.py", answersArrays},
		} {
			t.Run(tc.locustfile+" "+string(tc.server), func(t *testing.T) {
				t.Parallel()
				r := countLocustfile(t, l, tc.locustfile, tc.server)
				served := 0
				for _, n := range r.hits {
					served += n
				}
				if served == 0 || r.requests != served {
					t.Errorf("the target got %d requests, Locust's stats count %d: requests are missing from the stats", served, r.requests)
				}
				if len(r.exceptions) > 0 {
					t.Errorf("the locustfile raised: %v", r.exceptions)
				}
				if tc.server != answersArrays || tc.locustfile != "cloud_carbon_footprint.py" {
					// An empty list of estimates is a valid CCF answer.
					if r.failures == 0 {
						t.Errorf("%d requests and no failure against a server that %s", r.requests, tc.server)
					}
				}
				t.Logf("Locust %s, %s against a server that %s: %d requests (the target got %d), %d failures",
					l.Version, tc.locustfile, tc.server, r.requests, served, r.failures)
			})
		}
	})
}
