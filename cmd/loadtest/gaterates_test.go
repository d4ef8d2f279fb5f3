package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// The size of TestGateRatesOnRealRuns. The defaults are the short version
// that bash .ci/run runs; bench/gate-rates.sh runs the full measurement.
var (
	gateTrials    = flag.Int("gaterates.trials", 1, "trials after the warm-up: each one unchanged run and one with the target 15% slower")
	gateUsers     = flag.Int("gaterates.users", 120, "users per run")
	gateSpawnRate = flag.Float64("gaterates.spawn-rate", 0, "users started per second (0: all at once)")
	gateRunTime   = flag.Duration("gaterates.run-time", 5*time.Second, "each run's run time")
	gateVersions  = flag.String("gaterates.versions", "", "comma-separated Locust versions to measure (empty: every version the suite runs)")
	gateOut       = flag.String("gaterates.out", "", "file to append one tab-separated row per version to")
)

// Gate parameters as a CI job would set them: the regression limit the
// docs' simulated table uses, and the default number of baselines.
const (
	gateRegressionPct = "10"
	gateSlowdown      = 1.15
	// The target's latency: log-normal with this median and sigma
	// (p95 = median * e^(1.645 sigma), about 2.3x the median).
	targetMedian = 40 * time.Millisecond
	targetSigma  = 0.5
)

// slowableTarget serves app after a response time drawn from a fixed
// log-normal distribution, scaled by the factor in effect: a system whose
// latency is known and which can be made 15% slower on demand.
type slowableTarget struct {
	app    http.Handler
	factor atomic.Uint64 // math.Float64bits of the scale
}

func (s *slowableTarget) setFactor(f float64) { s.factor.Store(math.Float64bits(f)) }

func (s *slowableTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scale := math.Float64frombits(s.factor.Load())
	time.Sleep(time.Duration(float64(targetMedian) * math.Exp(targetSigma*rand.NormFloat64()) * scale))
	s.app.ServeHTTP(w, r)
}

// gateRun is one run's figures and what the gate said of it.
type gateRun struct {
	slowed     bool
	requests   int
	p95, rps   float64
	baselines  int
	regression bool // a p95 or rps regression breach
	verdict    string
}

// TestGateRatesOnRealRuns measures the regression gate's false alarms and
// detections on real runs, the way CI meets them: real Locust (a master
// and two workers) against a target with a fixed latency distribution;
// every run starts from an empty results folder and finds its baselines in
// the bucket (gofakes3, spoken to by the AWS SDK), where the runs before it
// left them. After five unchanged runs with the gate off (a passing
// history), each trial is one unchanged run
// (a false alarm when the gate fails it) and one with the target 15% slower
// (a detection when it does), the slowed run then taken out of the bucket:
// each trial measures the first run after a slowdown lands.
//
// It asserts what must hold whatever the noise: every run's request count
// is what the target served in it, every run is valid, and the gate judged
// the trials against five baselines. The rates are the measurement, logged
// and written to -gaterates.out; bench/gate-rates.sh runs it at full size.
func TestGateRatesOnRealRuns(t *testing.T) {
	// The AWS SDK reads its credentials from the process environment, so
	// this test is not parallel (as TestResultsInS3).
	fakeAWSEnvironment(t)
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		if *gateVersions != "" && !slices.Contains(strings.Split(*gateVersions, ","), l.Version) {
			t.Skipf("not among -gaterates.versions %s", *gateVersions)
		}
		backend, s3 := memoryBucket(t)
		target := &slowableTarget{app: &fakeapps.BookinfoProductPage{}}
		target.setFactor(1)
		c := startCluster(t, l, target, 2)

		spawnRate := *gateSpawnRate
		if spawnRate == 0 {
			spawnRate = float64(*gateUsers)
		}
		// The warm-up runs build the history with the gate off: judged
		// against one to four baselines, where only the percentage
		// applies, noise alone would fail some, and a failed run is no
		// baseline. Every trial then has five.
		oneRun := func(slowed, gated bool) gateRun {
			t.Helper()
			regressionPct := "0"
			if gated {
				regressionPct = gateRegressionPct
			}
			target.setFactor(map[bool]float64{false: 1, true: gateSlowdown}[slowed])
			before := served(c.target)
			args := []string{"--stack", "gate", "--master-url", c.webURL, "--users", strconv.Itoa(*gateUsers),
				"--spawn-rate", strconv.FormatFloat(spawnRate, 'f', -1, 64), "--run-time", gateRunTime.String(),
				"--image", "locustio/locust:" + l.Version, "--expect-workers", "2", "--wait-workers", "60s",
				"--progress-interval", "1m", "--max-regression-pct", regressionPct,
				"--results-dir", t.TempDir(), "--results-bucket", "loadtest-results", "--s3-endpoint", s3}
			code, stdout, stderr := runCommand(context.Background(), nil, args...)
			if code != exitOK && code != exitBreached {
				t.Fatalf("a run ended with exit %d\n%s\n%s", code, stdout, stderr)
			}
			dir := resultDir(t, stdout)
			s := readSummary(t, dir)
			r := gateRun{slowed: slowed, requests: s.Stats.Total.Requests, p95: s.Stats.Total.P95Ms, rps: s.Stats.Total.RPS,
				baselines: len(s.BaselineRuns), verdict: s.Verdict}
			for _, b := range s.Breaches {
				r.regression = r.regression || strings.Contains(b.Threshold, "regression")
			}
			if got := served(c.target) - before; got != r.requests || len(s.Invalid) > 0 {
				t.Errorf("run %s: the summary counts %d requests, the target served %d; invalid: %v", filepath.Base(dir), r.requests, got, s.Invalid)
			}
			if slowed {
				forget(t, backend, "gate/"+filepath.Base(dir)+"/")
			}
			return r
		}

		var runs []gateRun
		for range runreport.DefaultBaselineRuns {
			runs = append(runs, oneRun(false, false))
		}
		for range *gateTrials {
			runs = append(runs, oneRun(false, true), oneRun(true, true))
		}
		for _, r := range runs[runreport.DefaultBaselineRuns:] {
			if r.baselines != runreport.DefaultBaselineRuns {
				t.Errorf("a trial was judged against %d baselines, want %d: %+v", r.baselines, runreport.DefaultBaselineRuns, r)
			}
		}
		row := gateRatesRow(l.Version, runs)
		t.Log(row)
		if *gateOut != "" {
			f, err := os.OpenFile(*gateOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := fmt.Fprintln(f, row); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// served is how many requests the target has answered so far.
func served(r *fakeapps.Recorder) int {
	n := 0
	for _, hits := range r.Hits() {
		n += hits
	}
	return n
}

// forget deletes a run's folder from the bucket, so that it is never a
// baseline.
func forget(t *testing.T, backend *s3mem.Backend, prefix string) {
	t.Helper()
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := backend.ListBucket("loadtest-results", &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	if len(keys) == 0 {
		t.Fatalf("no objects under %s in the bucket", prefix)
	}
	if _, err := backend.DeleteMulti("loadtest-results", keys...); err != nil {
		t.Fatal(err)
	}
}

// gateRatesRow is the measurement of one version as a tab-separated row:
// version, users, run time, median requests per run, the unchanged runs'
// run-to-run noise of p95 and rps (standard deviation of the logarithm,
// about the relative spread), trials, false alarms and detections.
func gateRatesRow(version string, runs []gateRun) string {
	var requests []int
	var p95, rps []float64
	alarms, caught, trials := 0, 0, 0
	for i, r := range runs {
		requests = append(requests, r.requests)
		if !r.slowed {
			p95, rps = append(p95, math.Log(r.p95)), append(rps, math.Log(r.rps))
		}
		if i < runreport.DefaultBaselineRuns {
			continue
		}
		switch {
		case r.slowed && r.regression:
			caught++
		case !r.slowed:
			trials++
			if r.regression {
				alarms++
			}
		}
	}
	slices.Sort(requests)
	return fmt.Sprintf("%s\t%d users\t%s\t%d requests\tp95 noise %.1f%%\trps noise %.1f%%\t%d trials\tfalse alarms %d (%.0f%%)\tdetected %d (%.0f%%)",
		version, *gateUsers, gateRunTime.String(), requests[len(requests)/2], 100*stddev(p95), 100*stddev(rps),
		trials, alarms, percent(alarms, trials), caught, percent(caught, trials))
}

// stddev is the sample standard deviation of xs, 0 for fewer than two.
func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
