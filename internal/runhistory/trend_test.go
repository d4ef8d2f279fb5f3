package runhistory

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// trendRuns is a stack's history of every kind, oldest first: what the
// picture must tell apart (review finding 21).
func trendRuns() []Run {
	load := func(users string) map[string]string {
		return map[string]string{"users": users, "spawnRate": "1", "runTime": "1m0s", "host": ""}
	}
	var runs []Run
	for i, r := range []struct {
		verdict  string
		users    string
		p95, rps float64
		accepted bool
	}{
		{"pass", "10", 250, 40, false},
		{"pass", "10", 240, 42, false},
		{"fail", "10", 400, 30, false},
		{"interrupted", "10", 100, 20, false},
		{"invalid", "10", 5, 900, false},
		{"pass", "50", 600, 150, false},
		{"pass", "10", 255, 41, true},
		{"pass", "10", 260, 39, false},
	} {
		name := "2026010" + string(rune('1'+i)) + "T000000Z"
		s := runreport.Summary{Stack: "ci", StartedAt: name, Verdict: r.verdict, Parameters: load(r.users),
			Stats: runreport.Stats{Total: runreport.Endpoint{Name: runreport.TotalName, P95Ms: r.p95, RPS: r.rps}}}
		if r.accepted {
			s.Accepted = &runreport.Acceptance{At: name}
		}
		runs = append(runs, Run{Dir: "s3://results/ci/" + name, Summary: s})
	}
	newest := &runs[len(runs)-1].Summary
	newest.Thresholds.MaxRegressionPct = 10
	// Read from the folder or the bucket: matched by the run's name.
	newest.BaselineRuns = []string{"results/ci/20260107T000000Z", "s3://results/ci/20260102T000000Z", "s3://results/ci/20260101T000000Z"}
	return runs
}

// TestTrendSeries: the line joins the runs of the newest run's load; a
// failed run, an invalid or interrupted one, and an accepted one are each
// marked their own way; the gate's band is the one its baselines give.
func TestTrendSeries(t *testing.T) {
	runs := trendRuns()
	got := seriesOf(runs)
	for _, tc := range []struct {
		what      string
		got, want []int
	}{
		{"on the line", got.line, []int{0, 1, 2, 3, 4, 6, 7}},
		{"another load", got.otherLoad, []int{5}},
		{"failed", got.failed, []int{2}},
		{"not judged", got.unjudged, []int{3, 4}},
		{"accepted", got.accepted, []int{6}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: runs %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	want, _ := runreport.Band([]runreport.Stats{runs[6].Summary.Stats, runs[1].Summary.Stats, runs[0].Summary.Stats}, 10)
	if !got.gated || got.band != want {
		t.Errorf("band %+v (gated %v), want %+v", got.band, got.gated, want)
	}
	if got.load != "10 users, spawn rate 1, 1m0s" {
		t.Errorf("load %q", got.load)
	}
	// A baseline older than the picture's runs: no band rather than a
	// wrong one.
	runs[len(runs)-1].Summary.BaselineRuns = append(runs[len(runs)-1].Summary.BaselineRuns, "s3://results/ci/20251231T000000Z")
	if seriesOf(runs).gated {
		t.Error("a band drawn from part of the baselines")
	}
}

// TestTrendPictureLegends: the picture's legend names each mark it draws,
// and only those.
func TestTrendPictureLegends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trend.svg")
	if err := Trend(path, "stack ci", trendRuns()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, legend := range []string{"p95 (10 users, spawn rate 1, 1m0s)", "another load", "failed its thresholds",
		"not judged: invalid or interrupted", "accepted as the new level", "gate: the newest run&#39;s limit", "gate: the newest run&#39;s baseline mean"} {
		if n := strings.Count(svg, ">"+legend+"<"); n == 0 {
			t.Errorf("the picture has no legend %q", legend)
		}
	}
}
