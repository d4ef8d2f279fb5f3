package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// TestChangesAgainstAComparableRun: the changes table compares the run
// with the newest of the gate's baselines, a passing run of the same
// load, not with whatever run came last (review finding 14); summary.md
// lists the gate's baselines; a figure that was 0 reads as its difference,
// not as +0.0%.
func TestChangesAgainstAComparableRun(t *testing.T) {
	stackDir := filepath.Join(t.TempDir(), "ci")
	load := func(users string) map[string]string {
		return map[string]string{"users": users, "spawnRate": "1", "runTime": "1m0s", "host": ""}
	}
	total := func(p95 float64, failures int) runreport.Stats {
		return runreport.Stats{Total: runreport.Endpoint{Name: runreport.TotalName, Requests: 100, Failures: failures, RPS: 10, P95Ms: p95}}
	}
	for _, r := range []struct {
		name, verdict string
		params        map[string]string
		p95           float64
	}{
		{"20260101T000000Z", "pass", load("10"), 100},
		{"20260102T000000Z", "pass", load("10"), 110},
		{"20260103T000000Z", "fail", load("10"), 300},        // a failed run
		{"20260104T000000Z", "pass", load("50"), 50},         // another load
		{"20260105T000000Z", "interrupted", load("10"), 200}, // cut short
	} {
		dir := filepath.Join(stackDir, r.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(runreport.Summary{Stack: "ci", StartedAt: r.name, Verdict: r.verdict, Parameters: r.params, Stats: total(r.p95, 0)})
		if err := os.WriteFile(filepath.Join(dir, "summary.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := runreport.Summary{Stack: "ci", Parameters: load("10"), Stats: total(120, 12)}
	o := options{stack: "ci", baselineRuns: 5, thresholds: runreport.Thresholds{MaxFailRatio: -1}, runTime: time.Minute}
	if err := judge(context.Background(), &s, o, stackDir, filepath.Join(stackDir, "20260106T000000Z"), nil); err != nil {
		t.Fatal(err)
	}
	newest := filepath.Join(stackDir, "20260102T000000Z")
	if s.Baseline != newest {
		t.Errorf("changes against %s, want %s, the newest passing run of the same load", s.Baseline, newest)
	}
	md := s.Markdown()
	for _, want := range []string{
		"| all requests | p95 ms | 110 | 120 | +9.1% |",
		"| all requests | fail ratio | 0 | 0.12 | +0.12 from 0 |",
		"- " + newest + "\n- " + filepath.Join(stackDir, "20260101T000000Z") + "\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
}
