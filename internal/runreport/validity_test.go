package runreport

import (
	"strings"
	"testing"
	"time"
)

func TestMinRequests(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want int
	}{{0.95, 400}, {0.99, 2000}, {0.5, 40}} {
		if got := MinRequests(tc.p); got != tc.want {
			t.Errorf("MinRequests(%g) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

// TestValidity: each way a run cannot support a verdict is named, and a
// sound run has none.
func TestValidity(t *testing.T) {
	sound := func() Summary {
		return Summary{
			StartedAt: "2026-01-02T00:00:00Z", DurationS: 60, Host: "http://target", Workers: 2, Image: "locustio/locust:2.46.3", LocustfilesSHA256: "a1",
			Thresholds: Thresholds{MaxFailRatio: -1, MaxRegressionPct: 10},
			Stats: Stats{
				Endpoints: []Endpoint{{Method: "GET", Name: "/a", Requests: 450, Failures: 2}, {Method: "GET", Name: "/b", Requests: 50}},
				Total:     Endpoint{Name: TotalName, Requests: 500, Failures: 2},
			},
		}
	}
	baseline := sound()
	baseline.StartedAt = "2026-01-01T00:00:00Z"
	old := Summary{StartedAt: "2025-12-01T00:00:00Z"} // a summary from before the host and image were recorded
	rules := Validity{MaxFailRatio: DefaultInvalidFailRatio, RunTime: time.Minute}
	for _, tc := range []struct {
		name   string
		change func(*Summary, *Validity)
		want   []string // one reason each, in order; none: valid
	}{
		{"sound", func(*Summary, *Validity) {}, nil},
		{"no requests", func(s *Summary, _ *Validity) {
			s.Stats.Total.Requests, s.Stats.Total.Failures = 0, 0
			s.Thresholds.MaxRegressionPct = 0
		}, []string{"no requests"}},
		{"p95 gated on too few", func(s *Summary, _ *Validity) { s.Stats.Total.Requests = 399 }, []string{"p95 of all requests is gated on 399 requests; it needs at least 400"}},
		{"p95 from fewer samples than requests", func(s *Summary, _ *Validity) { s.Stats.Total.Samples = 390 }, []string{"p95 of all requests is gated on 390 requests"}},
		{"p95 not gated", func(s *Summary, _ *Validity) { s.Stats.Total.Requests, s.Thresholds.MaxRegressionPct = 399, 0 }, nil},
		{"p99 gated on too few", func(s *Summary, _ *Validity) { s.Thresholds.MaxP99Ms = 900 }, []string{"p99 of all requests is gated on 500 requests; it needs at least 2000"}},
		{"per endpoint", func(s *Summary, _ *Validity) { s.Thresholds.MaxP95Ms, s.Thresholds.PerEndpoint = 800, true },
			[]string{"p95 of GET /b is gated on 50 requests; it needs at least 400"}},
		{"failures", func(s *Summary, _ *Validity) { s.Stats.Total.Failures = 26 }, []string{"5.2% of requests failed, above the 5.0%"}},
		{"failure limit off", func(s *Summary, v *Validity) { s.Stats.Total.Failures, v.MaxFailRatio = 500, -1 }, nil},
		{"cut short", func(s *Summary, _ *Validity) { s.DurationS = 56.9 }, []string{"ran 57s of its 1m0s run time"}},
		{"within the tolerance", func(s *Summary, _ *Validity) { s.DurationS = 57 }, nil},
		{"another target", func(s *Summary, _ *Validity) { s.Host = "http://other" }, []string{"its target http://other differs from its baseline 2026-01-01T00:00:00Z's http://target"}},
		{"other workers", func(s *Summary, _ *Validity) { s.Workers = 3 }, []string{"its workers 3 differs"}},
		{"other locustfiles", func(s *Summary, _ *Validity) { s.LocustfilesSHA256 = "b2" }, []string{"its locustfiles b2 differs from its baseline 2026-01-01T00:00:00Z's a1"}},
		{"another image", func(s *Summary, _ *Validity) { s.Image = "locustio/locust:2.24.0" }, []string{"its image locustio/locust:2.24.0 differs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, v := sound(), rules
			tc.change(&s, &v)
			got := v.Check(s, []Summary{baseline, old})
			if len(got) != len(tc.want) {
				t.Fatalf("reasons %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("reason %q, want it to say %q", got[i], w)
				}
			}
		})
	}
}
