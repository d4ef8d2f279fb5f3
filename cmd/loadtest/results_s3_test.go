package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// TestResultsInS3: each run's folder goes to the bucket, and a run on
// another machine (an empty local results folder) compares with the
// previous run found there. The S3 side is gofakes3, an implementation of
// the S3 protocol, spoken to by the AWS SDK as it speaks to AWS.
func TestResultsInS3(t *testing.T) {
	// The AWS SDK reads its credentials from the process environment, so
	// this test is not parallel: its versions run at once, while it waits,
	// and no other test runs until they are done.
	fakeAWSEnvironment(t)
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		_, s3 := memoryBucket(t)

		c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
		args := []string{"--stack", "dev", "--master-url", c.webURL, "--users", "2", "--spawn-rate", "2",
			"--run-time", "3s", "--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s",
			"--results-bucket", "loadtest-results", "--s3-endpoint", s3}
		code, stdout, stderr := runCommand(context.Background(), nil, append(args, "--results-dir", t.TempDir())...)
		if code != exitOK || !strings.Contains(stdout, "uploaded 8 files to s3://loadtest-results/dev/") {
			t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		first := filepath.Base(resultDir(t, stdout))
		store, err := resultstore.New(context.Background(), "loadtest-results", s3)
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.Get(context.Background(), "dev/"+first+"/summary.json")
		if err != nil || !bytes.Contains(b, []byte(`"verdict": "pass"`)) {
			t.Fatalf("summary.json in the bucket: %v %s", err, b)
		}
		if h, err := store.Get(context.Background(), "dev/"+first+"/histogram.json"); err != nil || !bytes.Contains(h, []byte(`"response_times"`)) {
			t.Errorf("histogram.json in the bucket: %v %.200s", err, h)
		}

		time.Sleep(1100 * time.Millisecond)
		code, stdout, stderr = runCommand(context.Background(), nil, append(args, "--results-dir", t.TempDir())...)
		if code != exitOK {
			t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		secondDir := resultDir(t, stdout)
		second := readSummary(t, secondDir)
		if want := "s3://loadtest-results/dev/" + first; second.Baseline != want || len(second.Changes) == 0 {
			t.Errorf("second run's baseline %q (%d changes), want %s from the bucket", second.Baseline, len(second.Changes), want)
		}
		// The history comes from the bucket on a machine that holds only
		// this run: the trend and the table have both runs, with the first
		// run's figures as the bucket holds them.
		md, _ := os.ReadFile(filepath.Join(secondDir, "summary.md"))
		firstSummary := runreport.Summary{}
		json.Unmarshal(b, &firstSummary)
		firstRow := fmt.Sprintf("%.1f", firstSummary.Stats.Total.RPS)
		if !strings.Contains(string(md), "### The stack's last 2 runs") || !strings.Contains(string(md), firstRow) ||
			!strings.Contains(string(md), "![p95 and throughput of the last runs, breaches marked](trend.svg)") {
			t.Errorf("second run's summary.md lacks the two-run history (first run's rps %s) or the picture:\n%s", firstRow, md)
		}
		svg, err := store.Get(context.Background(), "dev/"+filepath.Base(secondDir)+"/trend.svg")
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(svg), []byte("<?xml")) && !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("trend.svg in the bucket: %v %.100s", err, svg)
		}
		// history on a third machine, from the bucket alone.
		code, stdout, stderr = runSubcommand("history", "--stack", "dev", "--results-dir", t.TempDir(),
			"--results-bucket", "loadtest-results", "--s3-endpoint", s3, "--trend", filepath.Join(t.TempDir(), "trend.svg"))
		if code != exitOK || strings.Count(stdout, "  pass") != 2 || !strings.Contains(stdout, firstRow) {
			t.Errorf("history from the bucket: exit %d, want both runs (first rps %s):\n%s\n%s", code, firstRow, stdout, stderr)
		}
		if js, _ := os.ReadFile(filepath.Join(secondDir, "summary.md")); bytes.Count(js, []byte("trend.svg")) != 1 {
			t.Errorf("summary.md names trend.svg %d times, want once", bytes.Count(js, []byte("trend.svg")))
		}
	})
}
