package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// save downloads Locust's reports and writes the summary.
func save(ctx context.Context, master *locustapi.Client, o options, ran swarmRun, workers int, getenv func(string) string, out io.Writer) (runreport.Summary, string, error) {
	stackDir := filepath.Join(o.resultsDir, o.stack)
	dir := filepath.Join(stackDir, ran.started.Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runreport.Summary{}, "", err
	}
	missing, err := downloadReports(ctx, master, dir, out)
	if err != nil {
		return runreport.Summary{}, dir, err
	}
	stats, percentilesFrom, lacking, err := readStats(ctx, master, dir, out)
	if err != nil {
		return runreport.Summary{}, dir, err
	}
	missing = append(missing, lacking...)
	s := newSummary(o, ran, workers, stats, percentilesFrom, getenv)
	s.Missing = missing
	err = judgeAndPublish(ctx, &s, o, stackDir, dir, nil, getenv, out)
	return s, dir, err
}

// judgeAndPublish judges a run's summary against its thresholds and
// baselines (from the results folder and the bucket), lets amend change
// the verdict where the caller knows more, then writes the summaries and
// uploads the run's folder.
func judgeAndPublish(ctx context.Context, s *runreport.Summary, o options, stackDir, dir string, amend func(*runreport.Summary), getenv func(string) string, out io.Writer) error {
	var store *resultstore.Store
	if o.bucket != "" {
		var err error
		if store, err = resultstore.New(ctx, o.bucket, o.endpoint); err != nil {
			return err
		}
	}
	if err := judge(ctx, s, o, stackDir, dir, store); err != nil {
		return err
	}
	if amend != nil {
		amend(s)
	}
	md, err := writeSummaries(ctx, *s, o.stack, stackDir, dir, store, out)
	if err != nil {
		return err
	}
	return publish(ctx, o, dir, md, store, getenv, out)
}

// resultFiles are the files of Locust's reports loadtest saves, by the
// master's path; only stats.csv holds figures a verdict needs.
var resultFiles = map[string]string{
	"stats.csv":      "/stats/requests/csv",
	"failures.csv":   "/stats/failures/csv",
	"exceptions.csv": "/exceptions/csv",
	"report.html":    "/stats/report",
}

// neededFile is the one file without which the run has no figures.
const neededFile = "stats.csv"

// downloadReports saves Locust's CSV and HTML report from the master in
// dir, each tried fetchTries times. It fails when stats.csv cannot be had;
// another file that cannot is left out, and missing names it with why, for
// the summary.
func downloadReports(ctx context.Context, master *locustapi.Client, dir string, out io.Writer) (missing []string, err error) {
	for _, name := range slices.Sorted(maps.Keys(resultFiles)) {
		var b []byte
		err := fetchRetrying(ctx, out, resultFiles[name], func(ctx context.Context) (err error) {
			b, err = master.Get(ctx, resultFiles[name])
			return err
		})
		if err != nil {
			if name == neededFile {
				return nil, err
			}
			fmt.Fprintf(out, "warning: %s not saved: %v\n", name, err)
			missing = append(missing, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// fetchTries is how many times a GET of the run's results is tried, and
// fetchBackoff the wait before the second try, doubled before each next
// one. A kubectl port-forward that drops a connection or a load balancer's
// 502 passes within seconds; the four tries' 7 s of waits fit well within
// the minute save is given.
const (
	fetchTries   = 4
	fetchBackoff = time.Second
)

// fetchRetrying calls get until it succeeds, up to fetchTries times, while
// ctx lasts, and returns its last error. A master without the plugin's
// histograms (ErrNoHistograms) is an answer, not a failure: no retry.
func fetchRetrying(ctx context.Context, out io.Writer, path string, get func(context.Context) error) error {
	wait := fetchBackoff
	for try := 1; ; try++ {
		err := get(ctx)
		if err == nil || errors.Is(err, locustapi.ErrNoHistograms) || try == fetchTries {
			return err
		}
		fmt.Fprintf(out, "note: GET %s failed (%v); try %d of %d in %s\n", path, err, try+1, fetchTries, wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; no more tries: %w", err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// readStats reads the saved stats CSV, with the percentiles taken from the
// master's histograms where it serves them (exactPercentiles); missing
// names the histograms when the master could not give them.
func readStats(ctx context.Context, master *locustapi.Client, dir string, out io.Writer) (stats runreport.Stats, percentilesFrom string, missing []string, err error) {
	f, err := os.Open(filepath.Join(dir, neededFile))
	if err != nil {
		return stats, "", nil, err
	}
	stats, err = runreport.ParseStatsCSV(f)
	f.Close()
	if err != nil {
		return stats, "", nil, err
	}
	return exactPercentiles(ctx, master, stats, dir, out)
}

// newSummary is the run's summary before it is judged: what ran, where,
// when, with what, and its figures.
func newSummary(o options, ran swarmRun, workers int, stats runreport.Stats, percentilesFrom string, getenv func(string) string) runreport.Summary {
	return runreport.Summary{
		Stack: o.stack, StartedAt: ran.started.Format(time.RFC3339), EndedAt: ran.ended.Format(time.RFC3339),
		DurationS: ran.ended.Sub(ran.started).Round(100 * time.Millisecond).Seconds(), Host: ran.host, LocustfilesSHA256: o.locustfilesSHA256,
		Image: o.image, Locust: locustVersion(o.image), Workers: workers,
		GitCommit: gitCommit(getenv), Stats: stats, PercentilesFrom: percentilesFrom, Thresholds: o.thresholds, Interrupted: ran.interrupted,
		Parameters: map[string]string{
			"users": fmt.Sprint(o.users), "spawnRate": fmt.Sprint(o.spawnRate), "runTime": o.runTime.String(),
			"host": o.host, "masterUrl": o.masterURL,
		},
	}
}

// judge compares the run with its baseline, checks that it can be judged
// (runreport.Validity) and, if it can, checks the thresholds against the
// regression gate's baselines, and gives the summary its verdict.
func judge(ctx context.Context, s *runreport.Summary, o options, stackDir, dir string, store *resultstore.Store) error {
	prev, from, err := givenBaseline(o)
	if err != nil {
		return err
	}
	baselines, runs, err := gateBaselines(ctx, o, s.Parameters, stackDir, dir, store, prev, from)
	if err != nil {
		return err
	}
	s.BaselineRuns = runs
	// The changes are against the newest of the gate's baselines: a run of
	// the same load that passed or was accepted, so what moved is the
	// system, not the test or a failed run's.
	if len(baselines) > 0 {
		s.Baseline = runs[0]
		s.Changes = runreport.Compare(s.Stats, baselines[0].Stats)
	}
	if s.Interrupted {
		s.Verdict = runreport.VerdictInterrupted
		return nil
	}
	// The baselines' target, workers and image matter only to a verdict
	// built on them: the regression gate's.
	var like []runreport.Summary
	if o.thresholds.MaxRegressionPct > 0 {
		like = baselines
	}
	if s.Invalid = (runreport.Validity{MaxFailRatio: o.invalidFailRatio, RunTime: o.runTime}).Check(*s, like); len(s.Invalid) > 0 {
		s.Verdict = runreport.VerdictInvalid
		return nil
	}
	var stats []runreport.Stats
	for _, b := range baselines {
		stats = append(stats, b.Stats)
	}
	s.Breaches = o.thresholds.Check(s.Stats, stats)
	s.Verdict = runreport.VerdictPass
	if len(s.Breaches) > 0 {
		s.Verdict = runreport.VerdictFail
	}
	return nil
}

// writeSummaries writes summary.json and summary.md, the latter with the
// stack's last runs, and returns the Markdown for the job summary.
func writeSummaries(ctx context.Context, s runreport.Summary, stack, stackDir, dir string, store *resultstore.Store, out io.Writer) (string, error) {
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	md := s.Markdown()
	trend, err := runTrend(ctx, stack, stackDir, dir, store)
	if err != nil {
		// The run's own results stand without it.
		fmt.Fprintf(out, "warning: no trend picture: %v\n", err)
	}
	md += trend
	// The picture beside summary.md, where the folder or the bucket is
	// viewed; GitHub's job summary shows no local picture, only the table.
	file := md
	if trend != "" {
		file += "\n![p95 and throughput of the last runs, breaches marked](trend.svg)\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(file), 0o644); err != nil {
		return "", err
	}
	return md, nil
}

// publish uploads the run's folder to the results bucket, if any, and in
// GitHub Actions adds the Markdown summary to the job summary.
func publish(ctx context.Context, o options, dir, md string, store *resultstore.Store, getenv func(string) string, out io.Writer) error {
	if store != nil {
		prefix := o.stack + "/" + filepath.Base(dir)
		n, err := store.Upload(ctx, dir, prefix)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "uploaded %d files to s3://%s/%s/\n", n, o.bucket, prefix)
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		whole := "summary.md in the results (the job's artifact)"
		if store != nil {
			whole = fmt.Sprintf("s3://%s/%s/%s/summary.md", o.bucket, o.stack, filepath.Base(dir))
		}
		if err := appendJobSummary(path, md, whole); err != nil {
			fmt.Fprintf(out, "warning: the job summary was not written: %v\n", err)
		}
	}
	return nil
}

// exactPercentiles saves the master's response-time histograms as
// histogram.json and takes the summary's percentiles from them. A master
// without them (pods of an older stack) leaves the CSV's, and says so; so
// does one that could not give them after fetchTries tries, and missing
// then says why.
func exactPercentiles(ctx context.Context, master *locustapi.Client, stats runreport.Stats, dir string, out io.Writer) (runreport.Stats, string, []string, error) {
	var dist distribution.Run
	err := fetchRetrying(ctx, out, locustapi.HistogramsPath, func(ctx context.Context) (err error) {
		dist, err = master.Histograms(ctx)
		return err
	})
	switch {
	case errors.Is(err, locustapi.ErrNoHistograms):
		fmt.Fprintf(out, "note: %v; percentiles from Locust's CSV, no histogram.json\n", err)
		return stats, runreport.FromCSV, nil, nil
	case err != nil:
		fmt.Fprintf(out, "warning: histogram.json not saved: %v; percentiles from Locust's CSV\n", err)
		return stats, runreport.FromCSV, []string{fmt.Sprintf("histogram.json: %v", err)}, nil
	}
	b, err := json.MarshalIndent(dist, "", "  ")
	if err != nil {
		return stats, "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "histogram.json"), append(b, '\n'), 0o644); err != nil {
		return stats, "", nil, err
	}
	exact, err := stats.WithPercentilesOf(dist)
	if err != nil {
		fmt.Fprintf(out, "warning: the histograms do not match the stats CSV (%v); percentiles from Locust's CSV\n", err)
		return stats, runreport.FromCSV, nil, nil
	}
	return exact, runreport.FromHistogram, nil, nil
}

// givenBaseline reads the summary of --baseline's run, or returns nil
// when none was given.
func givenBaseline(o options) (*runreport.Summary, string, error) {
	if o.baseline == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(filepath.Join(o.baseline, "summary.json"))
	if err != nil {
		return nil, "", fmt.Errorf("--baseline %s: %w", o.baseline, err)
	}
	var prev runreport.Summary
	if err := json.Unmarshal(b, &prev); err != nil {
		return nil, "", fmt.Errorf("baseline %s: summary.json: %w", o.baseline, err)
	}
	return &prev, o.baseline, nil
}

// gateBaselines are the runs the regression gate judges this one against:
// --baseline when given; else the stack's newest --baseline-runs passing
// runs with the same load (users, spawn rate, run time, --host) older than
// current, newest first, from the results folder and the bucket together,
// back to the newest run accepted as the stack's new level (loadtest
// accept), which is one of them whatever its verdict.
// A CI runner starts with an empty folder and a laptop holds only its own
// runs: both judge against the same runs. A run in both is read from the
// folder.
func gateBaselines(ctx context.Context, o options, params map[string]string, stackDir, current string, store *resultstore.Store, prev *runreport.Summary, from string) ([]runreport.Summary, []string, error) {
	if o.baseline != "" && prev != nil {
		return []runreport.Summary{*prev}, []string{from}, nil
	}
	runs, err := storedRuns(ctx, o.stack, stackDir, filepath.Base(current), store)
	if err != nil {
		return nil, nil, err
	}
	var summaries []runreport.Summary
	var names []string
	for _, r := range runs {
		if len(summaries) == o.baselineRuns {
			break
		}
		s, ok, err := r.summary(ctx)
		if err != nil {
			return nil, nil, err
		}
		// A run that failed, was interrupted or invalid is no baseline,
		// unless it was accepted as the new level; then the runs before it
		// are none.
		if !ok || !sameLoad(s, params) || (s.Verdict != runreport.VerdictPass && s.Accepted == nil) {
			continue
		}
		summaries = append(summaries, s)
		names = append(names, r.where)
		if s.Accepted != nil {
			break
		}
	}
	return summaries, names, nil
}

// sameLoad says whether s ran under the load params describe.
func sameLoad(s runreport.Summary, params map[string]string) bool {
	for _, k := range []string{"users", "spawnRate", "runTime", "host", "stacks"} {
		if s.Parameters[k] != params[k] {
			return false
		}
	}
	return true
}

// storedRun is one earlier run of the stack, in the results folder or the
// bucket.
type storedRun struct {
	// name is the run folder's name, its UTC start time; where is its
	// folder or its s3:// prefix.
	name, where string
	// local is set for a run in the results folder.
	local bool
	store *resultstore.Store
	key   string
}

// summary reads the run's summary.json; ok is false when the run has none
// (a run that could not finish, or whose upload was cut).
func (r storedRun) summary(ctx context.Context) (s runreport.Summary, ok bool, err error) {
	var b []byte
	if r.local {
		b, err = os.ReadFile(filepath.Join(r.where, "summary.json"))
		if errors.Is(err, os.ErrNotExist) {
			return s, false, nil
		}
	} else {
		b, err = r.store.Get(ctx, r.key)
		if errors.Is(err, resultstore.ErrNotFound) {
			return s, false, nil
		}
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("%s/summary.json: %w", r.where, err)
	}
	return s, true, nil
}

// storedRuns are the stack's runs older than current in the results folder
// and, with a store, the bucket, each once, newest first.
func storedRuns(ctx context.Context, stack, stackDir, current string, store *resultstore.Store) ([]storedRun, error) {
	byName := map[string]storedRun{}
	if store != nil {
		names, err := store.Runs(ctx, stack)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			byName[n] = storedRun{name: n, where: "s3://" + store.Bucket() + "/" + stack + "/" + n, store: store, key: stack + "/" + n + "/summary.json"}
		}
	}
	entries, err := os.ReadDir(stackDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			byName[e.Name()] = storedRun{name: e.Name(), where: filepath.Join(stackDir, e.Name()), local: true}
		}
	}
	var runs []storedRun
	for n, r := range byName {
		if n < current {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b storedRun) int { return strings.Compare(b.name, a.name) })
	return runs, nil
}

// locustVersion is the Locust version of an official image (its tag, as
// in locustio/locust:2.46.3), or "" when the image does not say.
func locustVersion(image string) string {
	ref, _, _ := strings.Cut(image, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") || !strings.HasPrefix(ref, "locustio/locust:") {
		return ""
	}
	return ref[i+1:]
}

func gitCommit(getenv func(string) string) string {
	if sha := getenv("GITHUB_SHA"); sha != "" {
		return sha
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(out))
}
