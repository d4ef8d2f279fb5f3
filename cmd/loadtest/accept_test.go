package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// TestAcceptANewLevel drives the gate through a CI-shaped history: runs in
// the bucket only, a failed run accepted as the new level, then runs after
// it. The accepted run becomes the baseline and the runs before it stop
// being baselines; the acceptance is in the bucket's summary.json and
// history shows it. An interrupted run or one that does not exist cannot
// be accepted.
func TestAcceptANewLevel(t *testing.T) {
	store, endpoint := fakeBucket(t)
	stackDir := filepath.Join(t.TempDir(), "ci")
	storeRuns(t, stackDir, store, []storedSummary{
		{name: "20260101T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260102T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260103T000000Z", verdict: "fail", users: "10", bucket: true}, // slower, as meant
		{name: "20260103T120000Z", verdict: "interrupted", users: "10", bucket: true},
	})
	params := map[string]string{"users": "10", "spawnRate": "1", "runTime": "1m0s", "host": ""}
	s3 := func(name string) string { return "s3://loadtest-results/ci/" + name }
	baselines := func(current string) []string {
		t.Helper()
		_, runs, err := gateBaselines(context.Background(), options{stack: "ci", baselineRuns: 5}, params, stackDir, filepath.Join(stackDir, current), store, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	if got, want := baselines("20260104T000000Z"), []string{s3("20260102T000000Z"), s3("20260101T000000Z")}; !slices.Equal(got, want) {
		t.Fatalf("before accepting: baselines %q, want %q", got, want)
	}
	flags := []string{"--stack", "ci", "--results-dir", filepath.Dir(stackDir), "--results-bucket", "loadtest-results", "--s3-endpoint", endpoint}
	for _, tc := range []struct{ run, want string }{
		{"20260103T120000Z", "was interrupted"},
		{"20260109T000000Z", "no run 20260109T000000Z of stack ci"},
	} {
		if code, stdout, stderr := runSubcommand(append(append([]string{"accept"}, flags...), tc.run)...); code != exitCouldNotRun || !strings.Contains(stderr, tc.want) {
			t.Errorf("accept %s: exit %d, stderr %q; want %d and %q\n%s", tc.run, code, stderr, exitCouldNotRun, tc.want, stdout)
		}
	}
	code, stdout, stderr := runSubcommand(append(append([]string{"accept"}, flags...), "20260103T000000Z")...)
	if code != exitOK || !strings.Contains(stdout, "accepted "+s3("20260103T000000Z")) {
		t.Fatalf("accept: exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := store.Get(context.Background(), "ci/20260103T000000Z/summary.json")
	var accepted runreport.Summary
	if err != nil || json.Unmarshal(b, &accepted) != nil || accepted.Accepted == nil || accepted.Accepted.At == "" || accepted.Verdict != "fail" {
		t.Errorf("the bucket's summary.json of the accepted run: %v %s", err, b)
	}

	if got, want := baselines("20260104T000000Z"), []string{s3("20260103T000000Z")}; !slices.Equal(got, want) {
		t.Errorf("after accepting: baselines %q, want %q (the accepted run alone)", got, want)
	}
	storeRuns(t, stackDir, store, []storedSummary{{name: "20260104T000000Z", verdict: "pass", users: "10", bucket: true}})
	if got, want := baselines("20260105T000000Z"), []string{s3("20260104T000000Z"), s3("20260103T000000Z")}; !slices.Equal(got, want) {
		t.Errorf("a run later: baselines %q, want %q", got, want)
	}

	code, stdout, stderr = runSubcommand("history", "--stack", "ci", "--results-dir", t.TempDir(), "--results-bucket", "loadtest-results",
		"--s3-endpoint", endpoint, "--trend", filepath.Join(t.TempDir(), "trend.svg"))
	if code != exitOK || strings.Count(stdout, "accepted as the new level") != 1 || !strings.Contains(stdout, "fail, accepted as the new level") {
		t.Errorf("history: exit %d, want the accepted run marked once:\n%s\n%s", code, stdout, stderr)
	}
}
