package components

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
)

// scrape reads the master's /metrics on its metrics port as Prometheus
// does: without a session, parsed by Prometheus' own text parser and
// checked by its linter.
func scrape(t *testing.T, metricsURL string) map[string]*dto.MetricFamily {
	t.Helper()
	status, b := get(t, metricsURL+MetricsPath)
	if status != http.StatusOK {
		t.Fatalf("GET %s%s: %d\n%s", metricsURL, MetricsPath, status, b)
	}
	problems, err := promlint.New(bytes.NewReader(b)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v\n%s", err, b)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses /metrics: %v\n%s", err, b)
	}
	return families
}

// get is a plain GET, as a scraper or anyone without a session sends it.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// byEndpoint maps "METHOD name" to each sample of a counter or histogram.
func byEndpoint(f *dto.MetricFamily) map[string]*dto.Metric {
	out := map[string]*dto.Metric{}
	for _, m := range f.GetMetric() {
		var method, name string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				method = l.GetValue()
			case "name":
				name = l.GetValue()
			}
		}
		out[method+" "+name] = m
	}
	return out
}

// TestMasterServesPrometheusMetrics: the plugin's /metrics on the metrics
// port of a real master of each Locust version, scraped while a test runs
// and after it: Prometheus' parser and linter accept it, users and workers
// match the master's own figures, and once stopped every endpoint's
// counters and histogram count equal /stats/requests, the histograms and
// what the target served, and the current rate is 0. The web port, which an
// exposure forwards, has no /metrics.
func TestMasterServesPrometheusMetrics(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.SuperHeroesFights{}, Delay: 5 * time.Millisecond, Jitter: 300 * time.Millisecond}
		target := newFakeTarget(t, app)
		run := startWebRun(t, l, "quarkus_super_heroes.py", target)
		api := run.api
		ctx := context.Background()
		if err := api.Start(ctx, locustapi.Swarm{Users: 10, SpawnRate: 10, RunTime: 8 * time.Second}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Now().Add(30*time.Second), "all users running", func() bool {
			s, err := api.Stats(ctx)
			return err == nil && s.UserCount == 10 && s.State == locustapi.StateRunning
		})
		// 404, which Locust 2.24's catch-all error handler answers as a 500
		// (web.py@2.24.0:146-150, errorhandler(Exception)).
		if status, b := get(t, run.webURL+MetricsPath); (status != http.StatusNotFound && status != http.StatusInternalServerError) || bytes.Contains(b, []byte("locust_")) {
			t.Errorf("GET /metrics on the web port without a session: %d, want no route\n%.300s", status, b)
		}
		live := scrape(t, run.metricsURL)
		if v := live["locust_users"].GetMetric()[0].GetGauge().GetValue(); v != 10 {
			t.Errorf("locust_users %g while 10 users run", v)
		}
		if v := live["locust_running"].GetMetric()[0].GetGauge().GetValue(); v != 1 {
			t.Errorf("locust_running %g during the test", v)
		}
		workers := 0.0
		for _, m := range live["locust_workers"].GetMetric() {
			workers += m.GetGauge().GetValue()
		}
		if workers != 2 {
			t.Errorf("locust_workers add up to %g, want 2", workers)
		}

		if err := api.WaitStopped(ctx, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		final := scrape(t, run.metricsURL)
		dist, err := api.Histograms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		requests := byEndpoint(final["locust_requests_total"])
		failures := byEndpoint(final["locust_failures_total"])
		histograms := byEndpoint(final["locust_response_time_seconds"])
		var sum float64
		for _, e := range dist.Entries {
			key := e.Method + " " + e.Name
			if got := requests[key].GetCounter().GetValue(); got != float64(e.Requests) {
				t.Errorf("%s: locust_requests_total %g, the master's stats %d", key, got, e.Requests)
			}
			if got := failures[key].GetCounter().GetValue(); got != float64(e.Failures) {
				t.Errorf("%s: locust_failures_total %g, the master's stats %d", key, got, e.Failures)
			}
			h := histograms[key].GetHistogram()
			if h.GetSampleCount() != uint64(e.ResponseTimes.Count()) {
				t.Errorf("%s: histogram count %d, the distribution %d", key, h.GetSampleCount(), e.ResponseTimes.Count())
			}
			// Each bucket holds exactly the requests at or below its bound.
			for _, b := range h.GetBucket() {
				var want int64
				for ms, n := range e.ResponseTimes {
					if float64(ms) <= b.GetUpperBound()*1000 {
						want += n
					}
				}
				if b.GetCumulativeCount() != uint64(want) {
					t.Errorf("%s: bucket le=%s holds %d, the distribution %d", key, strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64), b.GetCumulativeCount(), want)
				}
			}
			sum += requests[key].GetCounter().GetValue()
		}
		if served := float64(target.Total()); sum != served || len(dist.Entries) != 3 {
			t.Errorf("locust_requests_total adds up to %g over %d endpoints; the target answered %g", sum, len(dist.Entries), served)
		}
		if v := final["locust_running"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
			t.Errorf("locust_running %g after the test", v)
		}
		// Locust's own current_rps still averages the last seconds of requests.
		if v := final["locust_current_requests_per_second"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
			t.Errorf("locust_current_requests_per_second %g after the test", v)
		}
		checkDashboard(t, final)
		t.Logf("Locust %s: /metrics parsed and linted clean; %g requests over 3 endpoints, as the target served, every histogram bucket exact", l.Version, sum)
	})
}

// checkDashboard: every query of the Grafana dashboard shipped beside the
// plugin names only metrics the master serves (a histogram's family
// through its _bucket, _sum and _count series).
func checkDashboard(t *testing.T, served map[string]*dto.MetricFamily) {
	t.Helper()
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard any
	if err := json.Unmarshal(b, &dashboard); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	series := map[string]bool{}
	for name, f := range served {
		series[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				series[name+suffix] = true
			}
		}
	}
	queries := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if q, ok := x.(string); ok && (k == "expr" || k == "query") {
					queries++
					// Grafana's $__rate_interval holds at least four scrapes
					// whatever the scrape interval; a fixed window such as
					// [1m] is empty at Prometheus' default 1 m interval.
					for _, window := range rangeWindow.FindAllStringSubmatch(q, -1) {
						if window[1] != "$__rate_interval" {
							t.Errorf("the dashboard's query uses the window [%s], not [$__rate_interval]: %s", window[1], q)
						}
					}
					for _, name := range metricName.FindAllString(q, -1) {
						if !series[name] {
							t.Errorf("the dashboard queries %s, which the master does not serve: %s", name, q)
						}
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dashboard)
	if queries < 6 {
		t.Errorf("the dashboard has %d queries; it lost its panels", queries)
	}
}

var metricName = regexp.MustCompile(`\blocust_[a-z_]+`)

// rangeWindow is a PromQL range selector's window.
var rangeWindow = regexp.MustCompile(`\[([^\]]*)\]`)
