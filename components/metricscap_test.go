package components

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
)

// capProgram fills a real Locust RequestStats, as a master holds it, with
// 510 endpoints, endpoint i getting i%7+1 requests, the k-th of
// 10+(7i+k)%85 ms (below 100 ms, where Locust keeps whole ms), plus one
// named like the reserved "other" row, and prints the plugin's /metrics
// for it. The runner is the part of a MasterRunner the metrics read.
const capProgram = `
import locust_eks_worker as plugin
from locust.stats import RequestStats

stats = RequestStats()
for i in range(510):
    for k in range(i % 7 + 1):
        stats.log_request("GET", "/item/%d" % i, 10 + (7 * i + k) % 85, 0)
stats.log_request("", "other", 5, 0)

class Runner:
    user_count = 0
    clients = {}
    state = "stopped"

Runner.stats = stats
print(plugin._metrics(Runner()), end="")
`

// maxEndpointsServed is Locust's own cap on /stats/requests
// (web.py@2.46.3:476, itertools.islice(..., 500)), which the plugin follows.
const maxEndpointsServed = 500

// TestMetricsCapEndpoints: with more endpoints than Locust's own 500, the
// plugin serves the 500 with the most requests and one name="other" row
// holding all the rest, on every Locust version: its counts, histogram and
// whole-run percentiles are those of the pooled requests left out, and
// every family still adds up to all requests made.
func TestMetricsCapEndpoints(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		out := runPythonWithPlugin(t, l, capProgram)
		problems, err := promlint.New(bytes.NewReader(out)).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}

		// The model: endpoint i has i%7+1 requests; the 500 with the most
		// (ties by name) are kept, the rest and the reserved name pooled.
		all, rest := distribution.Histogram{}, distribution.Histogram{5: 1}
		type endpoint struct {
			name     string
			requests int
		}
		var endpoints []endpoint
		for i := range 510 {
			endpoints = append(endpoints, endpoint{fmt.Sprintf("/item/%d", i), i%7 + 1})
			for k := range i%7 + 1 {
				all[int64(10+(7*i+k)%85)]++
			}
		}
		all[5]++
		kept := map[string]bool{}
		for n := 7; n >= 1 && len(kept) < maxEndpointsServed; n-- {
			var names []string
			for _, e := range endpoints {
				if e.requests == n {
					names = append(names, e.name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				if len(kept) < maxEndpointsServed {
					kept[name] = true
				}
			}
		}
		for i, e := range endpoints {
			if !kept[e.name] {
				for k := range e.requests {
					rest[int64(10+(7*i+k)%85)]++
				}
			}
		}

		requests := byEndpoint(families["locust_requests_total"])
		if len(requests) != maxEndpointsServed+1 {
			t.Errorf("%d endpoints served, want %d and other", len(requests), maxEndpointsServed)
		}
		var sum float64
		for key, m := range requests {
			if key != " other" && !kept[key[len("GET "):]] {
				t.Errorf("%s is served, though %d endpoints have more requests", key, maxEndpointsServed)
			}
			sum += m.GetCounter().GetValue()
		}
		if got := requests[" other"].GetCounter().GetValue(); got != float64(rest.Count()) || sum != float64(all.Count()) {
			t.Errorf("other holds %g requests, want %d; all rows %g, want %d", got, rest.Count(), sum, all.Count())
		}
		if got := byEndpoint(families["locust_response_time_seconds"])[" other"].GetHistogram().GetSampleCount(); got != uint64(rest.Count()) {
			t.Errorf("other's histogram counts %d, want %d", got, rest.Count())
		}
		run := stored(families)
		for _, c := range []struct {
			name string
			h    distribution.Histogram
		}{{"other", rest}, {"Aggregated", all}} {
			for _, q := range []float64{0.5, 0.95, 0.99} {
				want, _ := c.h.Percentile(q)
				got := evalMax(t, fmt.Sprintf(`max(locust_run_response_time_seconds{method="",name=%q,quantile="%g"})`, c.name, q), run)
				if got[""] != float64(want)/1000 {
					t.Errorf("%s p%g: %v s served, %d ms of the pooled requests", c.name, q*100, got, want)
				}
			}
		}
		t.Logf("Locust %s: %d endpoints served and other with %d requests, %d in all", l.Version, len(requests)-1, rest.Count(), all.Count())
	})
}

// runPythonWithPlugin runs program in Locust l's Python, where it can
// import the plugin (locust_eks_worker, this folder), with args, and
// returns what it printed; it fails the test with what it said on stderr
// when it fails.
func runPythonWithPlugin(t *testing.T, l *locust, program string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(l.Python, append([]string{"-c", program}, args...)...)
	cmd.Env = append(cmd.Environ(), l.Env...)
	cmd.Env = append(cmd.Env, "PYTHONPATH=.")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("Locust %s: %v\n%s", l.Version, err, stderr)
	}
	return out
}
