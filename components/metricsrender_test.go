package components

import (
	"bytes"
	"strings"
	"testing"
)

// renderProgram fills a real Locust RequestStats, as a master holds it,
// with response times on and around every histogram bound, renders the
// plugin's /metrics twice (493 endpoints, all with series; then 61 more,
// most of them pooled in the other row), and after each render prints,
// after a "--- reference" line, the histogram and summary samples counted
// the plain way from each row's raw response_times: every bound sums over
// every key, and each quantile is Locust's own
// calculate_response_time_percentile, as the plugin computed them before it
// sorted each entry's keys once. The rows (which endpoints, the other row)
// are the plugin's _endpoint_rows, which TestMetricsCapEndpoints checks.
const renderProgram = `
import locust_eks_worker as plugin
from locust.stats import RequestStats, calculate_response_time_percentile

# Milliseconds on and around every bucket bound before Locust rounds them
# (whole ms below 100, then 2 significant digits, half to even: 105 -> 100,
# 155 -> 160, 99.5 -> 100, 9950 -> 10000).
AWKWARD = [
    0, 0.4, 0.5, 1.5, 2.5, 4.5, 5, 5.5, 9.5, 10, 10.5, 24.5, 25, 25.5, 49.5, 50, 74.5, 75, 75.5,
    99.4, 99.5, 100, 104, 105, 106, 144, 145, 150, 155, 194, 195, 205, 245, 250, 255, 295, 305, 395,
    405, 495, 505, 595, 605, 745, 750, 755, 994, 995, 1000, 1049, 1050, 1051, 1449, 1450, 1500,
    1549, 1550, 1949, 1950, 2050, 2450, 2500, 2549, 2550, 2949, 2950, 3050, 3950, 4050, 4949, 4950,
    5050, 9949, 9950, 10000, 10499, 10500, 29500, 30000, 30499, 30500, 59500, 60000, 60499, 60500,
    61000, 120000,
]


class Runner:
    user_count = 3
    clients = {}
    state = "running"


def fill(stats, first, count):
    for i in range(first, first + count):
        method = "POST" if i % 5 == 0 else "GET"
        for k in range(i % 13 + 1):
            stats.log_request(method, "/item/%d" % i, AWKWARD[(7 * i + 3 * k) % len(AWKWARD)], 0)


def reference(stats):
    rows = plugin._endpoint_rows(stats)
    # Without a key on each bound, counting "<" for "<=" would go unseen.
    keys = set().union(*(e.response_times for e in rows))
    assert all(b * 1000 in keys for b in plugin.METRIC_BUCKETS), "a bound without a key"
    out = []
    for e in rows:
        lbl = 'method="%s",name="%s"' % (plugin._label(e.method or ""), plugin._label(e.name))
        times = e.response_times
        for bound in plugin.METRIC_BUCKETS:
            count = sum(n for ms, n in times.items() if ms <= bound * 1000)
            out.append('locust_response_time_seconds_bucket{%s,le="%s"} %d' % (lbl, bound, count))
        out.append('locust_response_time_seconds_bucket{%s,le="+Inf"} %d' % (lbl, sum(times.values())))
        out.append("locust_response_time_seconds_sum{%s} %s" % (lbl, e.total_response_time / 1000))
        out.append("locust_response_time_seconds_count{%s} %d" % (lbl, sum(times.values())))
    for e in rows + [stats.total]:
        lbl = 'method="%s",name="%s"' % (plugin._label(e.method or ""), plugin._label(e.name))
        if e is stats.total:
            lbl = 'method="",name="%s"' % plugin.AGGREGATED_NAME
        counted = sum(e.response_times.values())
        for q in plugin.RUN_QUANTILES:
            value = "NaN"
            if counted:
                value = repr(calculate_response_time_percentile(e.response_times, counted, q) / 1000)
            out.append('locust_run_response_time_seconds{%s,quantile="%s"} %s' % (lbl, q, value))
        out.append("locust_run_response_time_seconds_sum{%s} %s" % (lbl, e.total_response_time / 1000))
        out.append("locust_run_response_time_seconds_count{%s} %d" % (lbl, counted))
    return "\n".join(out) + "\n"


def render(stats):
    print(plugin._metrics(Runner()), end="")
    print("--- reference")
    print(reference(stats), end="")
    print("--- end")


stats = RequestStats()
Runner.stats = stats
# 480 endpoints with requests, 10 never requested, one with no response
# times (NaN quantiles), one named with the characters labels escape, and
# keys a locustfile's own bucket_response_time could make (0.5 ms bins, a
# key with no requests).
fill(stats, 0, 480)
for i in range(10):
    stats.get("/never/%d" % i, "GET")
for _ in range(4):
    stats.log_request("GET", "/none-only", None, 0)
stats.log_request("GET", 'quote"back\\slash\nline', 30000, 0)
half = stats.get("/half-ms", "GET")
for ms, n in ((4.5, 3), (5.0, 2), (74.5, 1), (75.5, 4), (0.5, 1), (250, 0)):
    half.response_times[ms] = half.response_times.get(ms, 0) + n
    half.num_requests += n
    half.total_response_time += ms * n
render(stats)
# 60 busier endpoints and one never requested: past 500 they go to the other
# row, while the never-requested ones above keep their series.
for _ in range(3):
    fill(stats, 480, 60)
stats.get("/never/late", "GET")
render(stats)
`

// TestMetricsHistogramsCountedPlainly: the plugin's histogram buckets,
// counts and whole-run percentiles, computed from each entry's keys sorted
// once, are byte for byte what counting every bound over every key and
// asking Locust for each percentile give, on every Locust version: on 554
// endpoints with keys on every bound and half-millisecond keys, endpoints
// never requested or with no response time, and the other row.
func TestMetricsHistogramsCountedPlainly(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		out := string(runPythonWithPlugin(t, l, renderProgram))
		renders := strings.Split(strings.TrimSuffix(out, "--- end\n"), "--- end\n")
		if len(renders) != 2 {
			t.Fatalf("%d renders printed, want 2", len(renders))
		}
		for n, r := range renders {
			served, reference, ok := strings.Cut(r, "--- reference\n")
			if !ok {
				t.Fatalf("render %d: no reference", n+1)
			}
			var samples bytes.Buffer
			for _, line := range strings.SplitAfter(served, "\n") {
				if strings.HasPrefix(line, "locust_response_time_seconds") || strings.HasPrefix(line, "locust_run_response_time_seconds") {
					samples.WriteString(line)
				}
			}
			got, want := strings.SplitAfter(samples.String(), "\n"), strings.SplitAfter(reference, "\n")
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("render %d, sample %d: served %q, counted %q", n+1, i+1, got[i], want[i])
				}
			}
			if len(got) != len(want) {
				t.Fatalf("render %d: %d samples served, %d counted", n+1, len(got)-1, len(want)-1)
			}
			if hasOther := strings.Contains(served, `locust_requests_total{method="",name="other"}`); hasOther != (n == 1) {
				t.Errorf("render %d: an other row: %v, want %v", n+1, hasOther, n == 1)
			}
			t.Logf("Locust %s, render %d: %d histogram and summary samples as counted", l.Version, n+1, len(want)-1)
		}
	})
}
