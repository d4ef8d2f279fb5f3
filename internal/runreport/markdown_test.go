package runreport

import (
	"strings"
	"testing"
)

// TestMarkdownFlagsThinPercentiles: a percentile with fewer than
// MinTailRequests samples beyond it is nearly the slowest request, not a
// figure of the system; the report marks it and says how many samples it
// stands on (review finding 15).
func TestMarkdownFlagsThinPercentiles(t *testing.T) {
	for _, tc := range []struct {
		samples int
		want    string // the total's row
	}{
		{3000, "| **all requests** | 3000 | 0 | 10.0 | 100 | 200 | 300 |"},
		{1000, "| **all requests** | 1000 | 0 | 10.0 | 100 | 200 | 300 ⚠ |"},
		{100, "| **all requests** | 100 | 0 | 10.0 | 100 | 200 ⚠ | 300 ⚠ |"},
	} {
		s := Summary{Stack: "dev", Verdict: VerdictPass, Stats: Stats{Total: Endpoint{Name: TotalName, Requests: tc.samples, Samples: tc.samples, RPS: 10, P50Ms: 100, P95Ms: 200, P99Ms: 300}}}
		md := s.Markdown()
		if !strings.Contains(md, tc.want) {
			t.Errorf("%d samples: the total's row is not %q:\n%s", tc.samples, tc.want, md)
		}
		note := "⚠: fewer than 20 samples beyond this percentile"
		if flagged := strings.Contains(tc.want, "⚠"); strings.Contains(md, note) != flagged {
			t.Errorf("%d samples: the note %q shown: %v, want %v:\n%s", tc.samples, note, !flagged, flagged, md)
		}
	}
}
