package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJobSummaryFitsGitHubsLimit: a run with thousands of endpoints (URLs
// with IDs left unnamed) writes a summary GitHub would refuse whole; the
// job summary keeps what fits, on whole lines, and says where the rest is.
func TestJobSummaryFitsGitHubsLimit(t *testing.T) {
	var big strings.Builder
	big.WriteString("## Load test dev: PASS\n\n| endpoint | requests |\n|---|---|\n")
	for i := 0; big.Len() <= 2*maxJobSummary; i++ {
		fmt.Fprintf(&big, "| GET /items/%d | %d |\n", i, i)
	}
	const whole = "s3://results/dev/20261202T100000Z/summary.md"
	cases := []struct {
		name    string
		already string // what an earlier write left in the step's file
		md      string
		cut     bool
	}{
		{"small, whole", "", "## Load test dev: PASS\n", false},
		{"two MiB, cut", "", big.String(), true},
		{"cut to the room left", strings.Repeat("x", 1000) + "\n", big.String(), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary")
			if tc.already != "" {
				os.WriteFile(path, []byte(tc.already), 0o644)
			}
			if err := appendJobSummary(path, tc.md, whole); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			got := string(b)
			if len(got) > maxJobSummary {
				t.Fatalf("job summary is %d bytes; GitHub shows none over %d", len(got), maxJobSummary)
			}
			if !strings.HasPrefix(got, tc.already) {
				t.Error("the earlier content of the step's summary was lost")
			}
			got = strings.TrimPrefix(got, tc.already)
			if !tc.cut {
				if got != tc.md {
					t.Errorf("a summary that fits was changed: %q", got)
				}
				return
			}
			if !strings.Contains(got, whole) || !strings.HasPrefix(got, "## Load test dev: PASS") {
				t.Errorf("cut summary lacks its head or where the whole is: %q ... %q", got[:40], got[len(got)-120:])
			}
			body, _, _ := strings.Cut(got, "\n\n**Cut")
			if last := body[strings.LastIndexByte(body, '\n')+1:]; !strings.HasSuffix(last, "|") {
				t.Errorf("cut in the middle of a line: %q", last)
			}
			if len(got) < maxJobSummary-len(tc.already)-200 {
				t.Errorf("cut to %d bytes, far below the room of %d", len(got), maxJobSummary-len(tc.already))
			}
		})
	}
}
