package runreport

import (
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
)

func TestWithPercentilesOf(t *testing.T) {
	csv := Stats{
		Endpoints: []Endpoint{{Method: "GET", Name: "/a", Requests: 4, P50Ms: 11, P95Ms: 99, P99Ms: 99}},
		Total:     Endpoint{Name: TotalName, Requests: 4, P50Ms: 11, P95Ms: 99, P99Ms: 99},
	}
	h := distribution.Histogram{10: 2, 20: 1, 100: 1}
	dist := distribution.Run{
		Entries: []distribution.Entry{{Method: "GET", Name: "/a", Requests: 4, ResponseTimes: h}},
		Total:   distribution.Entry{Name: TotalName, Requests: 4, ResponseTimes: h},
	}
	got, err := csv.WithPercentilesOf(dist)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: 10 10 20 100; int(4 x p) = 2, 3, 3.
	for _, e := range []Endpoint{got.Endpoints[0], got.Total} {
		if e.P50Ms != 20 || e.P95Ms != 100 || e.P99Ms != 100 || e.Samples != 4 {
			t.Errorf("%s: p50 %g p95 %g p99 %g of %d samples, want 20, 100, 100 of 4", e.Key(), e.P50Ms, e.P95Ms, e.P99Ms, e.Samples)
		}
	}
	if csv.Endpoints[0].P50Ms != 11 {
		t.Error("the CSV's stats were changed in place")
	}

	for name, bad := range map[string]distribution.Run{
		"count":    {Entries: []distribution.Entry{{Method: "GET", Name: "/a", Requests: 3, ResponseTimes: h}}, Total: dist.Total},
		"endpoint": {Entries: []distribution.Entry{{Method: "GET", Name: "/b", Requests: 4, ResponseTimes: h}}, Total: dist.Total},
	} {
		out, err := csv.WithPercentilesOf(bad)
		if err == nil || !strings.Contains(err.Error(), "GET /a") || out.Endpoints[0].P50Ms != 11 {
			t.Errorf("%s mismatch: %v, %+v; want an error naming GET /a and the CSV's figures", name, err, out.Endpoints[0])
		}
	}
}
