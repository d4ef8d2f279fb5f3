package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryReportsAnUnreadableLocalRun: with a bucket, history reads the
// results folder and the bucket together. A folder that does not exist is
// fine (a CI runner's), but a local summary.json that cannot be read is an
// error naming it, not a reason to show the bucket's runs alone (review
// finding 22).
func TestHistoryReportsAnUnreadableLocalRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt bool // a local run whose summary.json is cut short
		noDir   bool // no results folder at all
		want    int
	}{
		{"no results folder", false, true, exitOK},
		{"a readable local run", false, false, exitOK},
		{"a corrupt local summary.json", true, false, exitCouldNotRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, endpoint := fakeBucket(t)
			results := t.TempDir()
			stackDir := filepath.Join(results, "ci")
			storeRuns(t, stackDir, store, []storedSummary{{name: "20260101T000000Z", verdict: "pass", users: "10", bucket: true}})
			if !tc.noDir {
				storeRuns(t, stackDir, store, []storedSummary{{name: "20260102T000000Z", verdict: "pass", users: "10", local: true}})
			}
			corrupt := filepath.Join(stackDir, "20260102T000000Z", "summary.json")
			if tc.corrupt {
				if err := os.WriteFile(corrupt, []byte(`{"stack": "ci", "sta`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := runSubcommand("history", "--stack", "ci", "--results-dir", results,
				"--results-bucket", "loadtest-results", "--s3-endpoint", endpoint, "--trend", filepath.Join(t.TempDir(), "trend.svg"))
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			if tc.corrupt && !strings.Contains(stderr, corrupt) {
				t.Errorf("the error does not name %s:\n%s", corrupt, stderr)
			}
		})
	}
}
