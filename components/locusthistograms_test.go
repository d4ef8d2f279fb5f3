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

// bucketWidth is the width of Locust's bucket holding ms
// (bucket_response_time in locust/stats.py).
func bucketWidth(ms float64) float64 {
	switch {
	case ms < 100:
		return 1
	case ms < 1000:
		return 10
	case ms < 10000:
		return 100
	default:
		return 1000
	}
}

// TestMasterServesExactHistograms: the component's plugin serves, on the
// master, the response-time histograms the master merged from its
// workers. Against a target whose answers spread over 20-620 ms, on three
// endpoints: each histogram holds every request the target answered, and
// the percentiles computed from it equal the master's own CSV figures
// within one of Locust's buckets. The Grafana dashboard's whole-run panels,
// evaluated over the same master's /metrics as Prometheus would, show the
// p50, p95 and p99 that summary.json gets for the run.
func TestMasterServesExactHistograms(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.SuperHeroesFights{}, Delay: 20 * time.Millisecond, Jitter: 600 * time.Millisecond}
		target := newFakeTarget(t, app)
		run := startWebRun(t, l, "quarkus_super_heroes.py", target)
		api := run.api
		ctx := context.Background()
		if err := api.Start(ctx, locustapi.Swarm{Users: 30, SpawnRate: 30, RunTime: 10 * time.Second}); err != nil {
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

		if served := int64(target.Total()); dist.Total.Requests != served || dist.Total.ResponseTimes.Count()+dist.Total.NoneRequests != served {
			t.Errorf("the target answered %d requests; the total histogram counts %d requests, %d in its buckets", served, dist.Total.Requests, dist.Total.ResponseTimes.Count())
		}
		if len(dist.Entries) != 3 || len(stats.Endpoints) != 3 {
			t.Fatalf("%d histogram entries, %d CSV endpoints; want the locustfile's 3", len(dist.Entries), len(stats.Endpoints))
		}
		check := func(what string, e runreport.Endpoint, h distribution.Entry) {
			if h.Requests != int64(e.Requests) {
				t.Errorf("%s: %d requests in the histogram, %d in the CSV", what, h.Requests, e.Requests)
			}
			for _, q := range []struct {
				at  float64
				csv float64
			}{{0.5, e.P50Ms}, {0.95, e.P95Ms}, {0.99, e.P99Ms}} {
				got, ok := h.ResponseTimes.Percentile(q.at)
				if diff := float64(got) - q.csv; !ok || diff > bucketWidth(q.csv) || -diff > bucketWidth(q.csv) {
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
		t.Logf("Locust %s: %d requests in %d buckets, p95 %d ms (CSV %g ms), every endpoint's percentiles within a bucket of the CSV's",
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
