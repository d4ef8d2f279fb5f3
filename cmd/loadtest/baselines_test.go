package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// fakeBucket is an empty results bucket in gofakes3, spoken to by the AWS
// SDK as it speaks to S3, and the endpoint it is at.
func fakeBucket(t *testing.T) (*resultstore.Store, string) {
	t.Helper()
	_, endpoint := memoryBucket(t)
	fakeAWSEnvironment(t)
	store, err := resultstore.New(context.Background(), "loadtest-results", endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return store, endpoint
}

// memoryBucket serves an empty bucket "loadtest-results" from memory
// (gofakes3) and returns its backend and its endpoint.
func memoryBucket(t *testing.T) (*s3mem.Backend, string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("loadtest-results"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return backend, srv.URL
}

// fakeAWSEnvironment gives the AWS SDK, which reads them from the process
// environment, credentials and a region, and no config files. A test that
// calls it cannot be parallel (t.Setenv); its subtests may be.
func fakeAWSEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// storedSummary is one earlier run as the test stores it: where (the
// folder, the bucket or both), its verdict and its users; no summary
// stands for a run whose summary.json never arrived.
type storedSummary struct {
	name, verdict, users string
	local, bucket        bool
	noSummary            bool
}

// storeRuns writes runs into stackDir and the bucket, under stack "ci".
func storeRuns(t *testing.T, stackDir string, store *resultstore.Store, runs []storedSummary) {
	t.Helper()
	for _, r := range runs {
		dir := filepath.Join(t.TempDir(), r.name)
		if r.local {
			dir = filepath.Join(stackDir, r.name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		file, body := "summary.json", []byte(nil)
		if r.noSummary {
			file, body = "stats.csv", []byte("Type,Name\n")
		} else {
			body, _ = json.Marshal(runreport.Summary{Stack: "ci", StartedAt: r.name, Verdict: r.verdict,
				Parameters: map[string]string{"users": r.users, "spawnRate": "1", "runTime": "1m0s", "host": ""}})
		}
		if err := os.WriteFile(filepath.Join(dir, file), body, 0o644); err != nil {
			t.Fatal(err)
		}
		if r.bucket {
			if _, err := store.Upload(context.Background(), dir, "ci/"+r.name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBaselinesFromFolderAndBucket: the regression gate's baselines are
// the newest passing runs of the same load, from the results folder and
// the bucket together, each run once: CI (an empty folder) and a laptop
// (its own runs and the bucket's) judge alike.
func TestBaselinesFromFolderAndBucket(t *testing.T) {
	// The bucket as CI leaves it: runs of every kind.
	bucket := []storedSummary{
		{name: "20260101T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260102T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260103T000000Z", verdict: "fail", users: "10", bucket: true},
		{name: "20260104T000000Z", verdict: "interrupted", users: "10", bucket: true},
		{name: "20260105T000000Z", verdict: "invalid", users: "10", bucket: true}, // cut short, or a dead target
		{name: "20260106T000000Z", verdict: "pass", users: "50", bucket: true},    // another load
		{name: "20260107T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260108T000000Z", users: "10", bucket: true, noSummary: true}, // an upload cut short
		{name: "20260109T000000Z", verdict: "pass", users: "10", bucket: true},
		{name: "20260111T000000Z", verdict: "pass", users: "10", bucket: true}, // newer than the run judged
	}
	const current = "20260110T000000Z"
	s3 := func(name string) string { return "s3://loadtest-results/ci/" + name }
	for _, tc := range []struct {
		name  string
		local []storedSummary
		n     int
		want  []string // "s3://..." or a folder's name under the stack's folder
	}{
		{"CI: an empty folder", nil, 3, []string{s3("20260109T000000Z"), s3("20260107T000000Z"), s3("20260102T000000Z")}},
		{"fewer than asked for", nil, 10, []string{s3("20260109T000000Z"), s3("20260107T000000Z"), s3("20260102T000000Z"), s3("20260101T000000Z")}},
		{"a laptop: its own runs and the bucket's, each once", []storedSummary{
			{name: "20260109T000000Z", verdict: "pass", users: "10", local: true}, // also in the bucket
			{name: "20260108T000000Z", verdict: "pass", users: "10", local: true}, // the bucket lacks its summary
			{name: "20260103T120000Z", verdict: "fail", users: "10", local: true},
		}, 4, []string{"20260109T000000Z", "20260108T000000Z", s3("20260107T000000Z"), s3("20260102T000000Z")}},
		{"no bucket runs of this load", []storedSummary{
			{name: "20260109T000000Z", verdict: "pass", users: "10", local: true},
		}, 5, []string{"20260109T000000Z", s3("20260107T000000Z"), s3("20260102T000000Z"), s3("20260101T000000Z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := fakeBucket(t)
			stackDir := filepath.Join(t.TempDir(), "ci")
			storeRuns(t, stackDir, store, append(slices.Clone(bucket), tc.local...))
			o := options{stack: "ci", baselineRuns: tc.n}
			params := map[string]string{"users": "10", "spawnRate": "1", "runTime": "1m0s", "host": ""}
			summaries, runs, err := gateBaselines(context.Background(), o, params, stackDir, filepath.Join(stackDir, current), store, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range runs {
				got = append(got, strings.TrimPrefix(r, stackDir+string(filepath.Separator)))
			}
			if !slices.Equal(got, tc.want) || len(summaries) != len(runs) {
				t.Errorf("baselines %q (%d summaries), want %q", got, len(summaries), tc.want)
			}
			for i, s := range summaries {
				if !strings.HasSuffix(runs[i], s.StartedAt) || s.Verdict != "pass" {
					t.Errorf("baseline %s holds the summary of %s (%s)", runs[i], s.StartedAt, s.Verdict)
				}
			}
		})
	}
}
