package components

import (
	"bytes"
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
)

// TestMasterServesExactHistograms: the component's plugin serves, on the
// master, the response-time histograms the master merged from its
// workers. Against a target whose answers spread over 20-620 ms, on three
// endpoints: each histogram holds every request the target answered, and
// the percentiles computed from it equal the master's own CSV figures: the
// CSV takes them with the same function from the same dict
// (get_response_time_percentile, stats.py@2.46.3:1040-1046), which on every
// version agree while no request lacks a response time (review finding 16).
// The Grafana dashboard's whole-run panels, evaluated over the same
// master's /metrics as Prometheus would, show the p50, p95 and p99 that
// summary.json gets for the run.
func TestMasterServesExactHistograms(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.SuperHeroesFights{}, Delay: 20 * time.Millisecond, Jitter: 600 * time.Millisecond}
		target := newFakeTarget(t, app)
		run := startWebRun(t, l, "quarkus_super_heroes.py", target)
		api := run.api
		dist, stats := runToTheEnd(t, api, locustapi.Swarm{Users: 30, SpawnRate: 30, RunTime: 10 * time.Second})

		if served := int64(target.Total()); dist.Total.Requests != served || dist.Total.ResponseTimes.Count()+dist.Total.NoneRequests != served {
			t.Errorf("the target answered %d requests; the total histogram counts %d requests, %d in its buckets", served, dist.Total.Requests, dist.Total.ResponseTimes.Count())
		}
		if len(dist.Entries) != 3 || len(stats.Endpoints) != 3 {
			t.Fatalf("%d histogram entries, %d CSV endpoints; want the locustfile's 3", len(dist.Entries), len(stats.Endpoints))
		}
		check := func(what string, e runreport.Endpoint, h distribution.Entry) {
			if h.Requests != int64(e.Requests) || h.NoneRequests != 0 {
				t.Errorf("%s: %d requests in the histogram (%d without a response time), %d in the CSV", what, h.Requests, h.NoneRequests, e.Requests)
			}
			for _, q := range []struct {
				at  float64
				csv float64
			}{{0.5, e.P50Ms}, {0.95, e.P95Ms}, {0.99, e.P99Ms}} {
				got, ok := h.ResponseTimes.Percentile(q.at)
				if !ok || float64(got) != q.csv {
					t.Errorf("%s p%g: %d ms from the histogram, %g ms in Locust's CSV", what, q.at*100, got, q.csv)
				}
			}
		}
		for _, e := range stats.Endpoints {
			h, ok := dist.Entry(e.Method, e.Name)
			if !ok {
				t.Errorf("%s has no histogram", e.Key())
				continue
			}
			check(e.Key(), e, h)
		}
		check("total", stats.Total, dist.Total)
		checkDashboardAgreesWithSummary(t, stats, dist, scrape(t, run.metricsURL))
		buckets := len(dist.Total.ResponseTimes)
		if buckets < 20 {
			t.Errorf("the answers fell into %d buckets; the target's jitter should spread them over many", buckets)
		}
		p95, _ := dist.Total.ResponseTimes.Percentile(0.95)
		t.Logf("Locust %s: %d requests in %d buckets, p95 %d ms (CSV %g ms), every endpoint's percentiles equal to the CSV's",
			l.Version, dist.Total.Requests, buckets, p95, stats.Total.P95Ms)
	})
}

// checkDashboardAgreesWithSummary: the dashboard's whole-run p50/p95/p99
// and its per-endpoint p95, computed from the master's served series as
// Prometheus evaluates the panels' queries, equal the figures cmd/loadtest
// writes into summary.json for the run: the stats CSV with its percentiles
// taken from the histograms (exactPercentiles, runreport.WithPercentilesOf).
func checkDashboardAgreesWithSummary(t *testing.T, csv runreport.Stats, dist distribution.Run, served map[string]*dto.MetricFamily) {
	t.Helper()
	summary, err := csv.WithPercentilesOf(dist)
	if err != nil {
		t.Fatal(err)
	}
	series := stored(served)
	for _, q := range []struct {
		legend string
		ms     float64
	}{{"p50", summary.Total.P50Ms}, {"p95", summary.Total.P95Ms}, {"p99", summary.Total.P99Ms}} {
		got := evalMax(t, dashboardTarget(t, wholeRunPanel, q.legend), series)
		if v, ok := got[""]; len(got) != 1 || !ok || v != q.ms/1000 {
			t.Errorf("the dashboard's whole-run %s is %v s; summary.json's is %g ms", q.legend, got, q.ms)
		}
	}
	perEndpoint := evalMax(t, dashboardTarget(t, perEndpointPanel, "{{method}} {{name}}"), series)
	if len(perEndpoint) != len(summary.Endpoints) {
		t.Errorf("the dashboard shows the p95 of %d endpoints, summary.json has %d: %v", len(perEndpoint), len(summary.Endpoints), perEndpoint)
	}
	for _, e := range summary.Endpoints {
		if v, ok := perEndpoint[e.Method+" "+e.Name]; !ok || v != e.P95Ms/1000 {
			t.Errorf("%s: the dashboard's p95 is %v s (shown: %v); summary.json's is %g ms", e.Key(), v, ok, e.P95Ms)
		}
	}
	t.Logf("the dashboard's whole-run p50/p95/p99 %g/%g/%g ms, as summary.json, and every endpoint's p95", summary.Total.P50Ms, summary.Total.P95Ms, summary.Total.P99Ms)
}

// halfMillisecondBins is a locustfile with custom response-time bucketing,
// as Locust 2.46 documents it (bucket_response_time, stats.py@2.46.3:124-142,
// "can be replaced at runtime"): bins of 0.5 ms, keys that are not whole
// numbers.
const halfMillisecondBins = `import locust.stats
from locust import FastHttpUser, constant, task

locust.stats.bucket_response_time = lambda ms: round(ms * 2) / 2


class Quick(FastHttpUser):
    wait_time = constant(0.01)

    @task
    def page(self):
        self.client.get("/productpage")
`

// TestCustomBucketsKeepEveryCount: under custom bucketing, keys of 1.0 and
// 1.5 ms are both served as "1" (the Go side's keys are whole ms); their
// counts must add up, not the last one win (review finding 17), and the
// percentiles then equal the CSV's, which are int() of Locust's.
func TestCustomBucketsKeepEveryCount(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		if !l.AtLeast(2, 46) {
			t.Logf("Locust %s has no replaceable bucket_response_time: its keys are whole ms", l.Version)
			return
		}
		app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: time.Millisecond, Jitter: 4 * time.Millisecond}
		target := newFakeTarget(t, app)
		args := testArgs(t)
		args.Locustfiles = map[string]string{"halfms.py": halfMillisecondBins}
		args.Run = []string{"halfms.py"}
		p := renderedPlanOf(t, l, args, target.URL)
		p.master = append(p.master, "--web-host=127.0.0.1")
		api := startWebRunOf(t, l, p).api
		dist, stats := runToTheEnd(t, api, locustapi.Swarm{Users: 4, SpawnRate: 4, RunTime: 4 * time.Second})
		served := int64(target.Total())
		if got := dist.Total.ResponseTimes.Count(); served == 0 || got != served || dist.Total.Requests != served {
			t.Errorf("the target answered %d requests; the histogram holds %d of %d requests", served, got, dist.Total.Requests)
		}
		for _, q := range []struct {
			at  float64
			csv float64
		}{{0.5, stats.Total.P50Ms}, {0.95, stats.Total.P95Ms}, {0.99, stats.Total.P99Ms}} {
			if got, ok := dist.Total.ResponseTimes.Percentile(q.at); !ok || float64(got) != q.csv {
				t.Errorf("p%g: %d ms from the histogram, %g ms in Locust's CSV", q.at*100, got, q.csv)
			}
		}
		t.Logf("Locust %s, 0.5 ms bins: %d requests served, %d in the histogram's %d whole-ms keys", l.Version, served, dist.Total.ResponseTimes.Count(), len(dist.Total.ResponseTimes))
	})
}

// runToTheEnd runs a swarm on a real master until it stops, then reads its
// histograms and its stats CSV.
func runToTheEnd(t *testing.T, api *locustapi.Client, swarm locustapi.Swarm) (distribution.Run, runreport.Stats) {
	t.Helper()
	ctx := context.Background()
	if err := api.Start(ctx, swarm); err != nil {
		t.Fatal(err)
	}
	if err := api.WaitStopped(ctx, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	dist, err := api.Histograms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	csvBytes, err := api.Get(ctx, "/stats/requests/csv")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := runreport.ParseStatsCSV(bytes.NewReader(csvBytes))
	if err != nil {
		t.Fatal(err)
	}
	return dist, stats
}
