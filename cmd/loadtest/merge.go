package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// saveSeveral saves a run across several stacks as one result: every
// stack's reports and histograms in a folder of its own,
// results/<stack+stack>/<time>/<stack>/, and at the top the merged
// histogram.json and a summary.json of the merged figures with a row per
// stack. The run is judged on the merged figures as a run on one stack
// is; a stack that failed makes it interrupted.
func saveSeveral(ctx context.Context, masters []*stackMaster, o options, ran swarmRun, getenv func(string) string, out io.Writer) (runreport.Summary, string, error) {
	stackDir := filepath.Join(o.resultsDir, o.stack)
	dir := filepath.Join(stackDir, ran.started.Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runreport.Summary{}, "", err
	}
	merged, percentilesFrom, rows, missing, err := mergeStacks(ctx, masters, dir, out)
	if err != nil {
		return runreport.Summary{}, dir, err
	}
	workers := 0
	for _, m := range masters {
		workers += m.workers
	}
	s := newSummary(o, ran, workers, merged, percentilesFrom, getenv)
	s.Missing = missing
	describeStacks(&s, masters, rows)
	withoutHistograms := func(s *runreport.Summary) {
		if percentilesFrom != runreport.FromHistogram && s.Verdict != runreport.VerdictInterrupted {
			s.Invalid = append(s.Invalid, "a stack's master serves no histograms: the merged percentiles cannot be computed, and an average of the stacks' percentiles is not the pooled requests'")
			s.Verdict, s.Breaches = runreport.VerdictInvalid, nil
		}
	}
	err = judgeAndPublish(ctx, &s, o, stackDir, dir, withoutHistograms, getenv, out)
	return s, dir, err
}

// mergeStacks saves every reachable master's reports in its stack's
// folder and returns their merged stats, with the percentiles of their
// merged histograms (saved as histogram.json in dir), and a row per stack.
// Without every stack's histograms the merged percentiles are left 0 and
// percentilesFrom is FromCSV: percentiles do not add. missing names, by
// stack, the files a master could not give (downloadReports, readStats).
func mergeStacks(ctx context.Context, masters []*stackMaster, dir string, out io.Writer) (merged runreport.Stats, percentilesFrom string, rows []runreport.StackRow, missing []string, err error) {
	var stats []runreport.Stats
	var runs []distribution.Run
	exact := true
	first := masters[0].answered
	for _, m := range masters {
		if m.answered.Before(first) {
			first = m.answered
		}
	}
	collected := collectStacks(ctx, masters, dir, out)
	for i, m := range masters {
		row := runreport.StackRow{Stack: m.name, MasterURL: m.opts.masterURL, Users: m.users, SpawnRate: m.spawnRate,
			Workers: m.workers, Host: m.host, SwarmAnsweredMs: float64(m.answered.Sub(first).Microseconds()) / 1000}
		if m.failed != "" {
			row.Failed, row.FailedAt = m.failed, m.failedAt.UTC().Format(time.RFC3339)
		}
		if !m.unreachable {
			c := collected[i]
			if c.mkdirErr != nil {
				return merged, "", nil, nil, c.mkdirErr
			}
			// A stack whose figures cannot be had makes the run
			// incomplete; the others' results are still saved.
			if err := c.err; err != nil {
				fmt.Fprintf(out, "warning: stack %s: its results could not be collected: %v\n", m.name, err)
				if m.failed == "" {
					m.failed, m.failedAt = "its results could not be collected after the run: "+err.Error(), c.at
				}
				row.Failed, row.FailedAt = m.failed, m.failedAt.UTC().Format(time.RFC3339)
				exact = false
				rows = append(rows, row)
				continue
			}
			for _, l := range append(c.lacking, c.lackingStats...) {
				missing = append(missing, m.name+": "+l)
			}
			row.Total = c.stats.Total
			stats = append(stats, c.stats)
			if c.from == runreport.FromHistogram {
				d, err := readHistograms(filepath.Join(dir, m.name, "histogram.json"))
				if err != nil {
					return merged, "", nil, nil, fmt.Errorf("stack %s: %w", m.name, err)
				}
				runs = append(runs, d)
			} else {
				exact = false
			}
		}
		rows = append(rows, row)
	}
	merged = addStats(stats)
	if !exact || len(runs) == 0 {
		return merged, runreport.FromCSV, rows, missing, nil
	}
	d := distribution.Merge(runs...)
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return merged, "", nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "histogram.json"), append(b, '\n'), 0o644); err != nil {
		return merged, "", nil, nil, err
	}
	// The stacks' CSVs and histograms each matched (readStats), so their
	// sums match too; an error here is a merge that lost requests.
	if merged, err = merged.WithPercentilesOf(d); err != nil {
		return merged, "", nil, nil, fmt.Errorf("the merged histograms do not hold the stacks' requests: %w", err)
	}
	return merged, runreport.FromHistogram, rows, missing, nil
}

// stackResults is what collectStacks got from one master.
type stackResults struct {
	mkdirErr     error
	lacking      []string
	stats        runreport.Stats
	from         string
	lackingStats []string
	// err is why the master's figures could not be had, at at.
	err error
	at  time.Time
}

// collectStacks saves every reachable master's reports in its stack's
// folder (downloadReports, readStats), all masters at once: after a
// cancel on GitHub the step has 10 s before it is killed (SIGINT, SIGTERM
// 7.5 s later, SIGKILL 2.5 s after: actions/runner
// src/Runner.Sdk/ProcessInvoker.cs), and one port-forward at a time would
// spend them N times over. The caller reads the results in the stacks'
// order, so the merged figures are the same as one stack after another.
func collectStacks(ctx context.Context, masters []*stackMaster, dir string, out io.Writer) []stackResults {
	collected := make([]stackResults, len(masters))
	// The masters' warnings share out, which need not be safe for
	// concurrent writes (a bytes.Buffer is not).
	out = &lockedWriter{w: out}
	var wg sync.WaitGroup
	for i, m := range masters {
		if m.unreachable {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &collected[i]
			sub := filepath.Join(dir, m.name)
			if c.mkdirErr = os.MkdirAll(sub, 0o755); c.mkdirErr != nil {
				return
			}
			c.lacking, c.err = downloadReports(ctx, m.client, sub, out)
			if c.err == nil {
				c.stats, c.from, c.lackingStats, c.err = readStats(ctx, m.client, sub, out)
			}
			c.at = time.Now()
		}()
	}
	wg.Wait()
	return collected
}

// lockedWriter serializes the writes of several goroutines to w, each
// write whole.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readHistograms reads a histogram.json.
func readHistograms(path string) (distribution.Run, error) {
	var d distribution.Run
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// addStats adds the stacks' stats endpoint by endpoint (method and name)
// and in total: requests, failures and request rates add (each master's
// rate is its own requests over its own time), the average is weighted
// by the requests with a response time, the maximum is the largest. The percentiles are left 0:
// only the merged histograms give them (WithPercentilesOf).
func addStats(stacks []runreport.Stats) runreport.Stats {
	add := func(sum, e runreport.Endpoint) runreport.Endpoint {
		// Locust's average is over the requests with a response time
		// (stats.py@2.12.1:425, avg_response_time), which Samples counts
		// when the percentiles came from the histograms.
		weight := func(e runreport.Endpoint) float64 {
			if e.Samples > 0 {
				return float64(e.Samples)
			}
			return float64(e.Requests)
		}
		if w := weight(sum) + weight(e); w > 0 {
			sum.AvgMs = (sum.AvgMs*weight(sum) + e.AvgMs*weight(e)) / w
		}
		sum.Requests += e.Requests
		sum.Failures += e.Failures
		sum.RPS += e.RPS
		sum.MaxMs = max(sum.MaxMs, e.MaxMs)
		sum.Samples += e.Samples
		return sum
	}
	var merged runreport.Stats
	merged.Total = runreport.Endpoint{Name: runreport.TotalName}
	for _, s := range stacks {
		merged.Total = add(merged.Total, s.Total)
		for _, e := range s.Endpoints {
			i := slices.IndexFunc(merged.Endpoints, func(m runreport.Endpoint) bool { return m.Method == e.Method && m.Name == e.Name })
			if i < 0 {
				merged.Endpoints = append(merged.Endpoints, add(runreport.Endpoint{Method: e.Method, Name: e.Name}, e))
				continue
			}
			merged.Endpoints[i] = add(merged.Endpoints[i], e)
		}
	}
	slices.SortFunc(merged.Endpoints, func(a, b runreport.Endpoint) int { return cmp.Compare(a.Key(), b.Key()) })
	return merged
}

// describeStacks records in s what makes the run one across several
// stacks: a row per stack, the start skew, the stacks' targets, masters,
// locustfiles and users (the comparability key with the load), and
// whether a stack failed, which leaves the run incomplete.
func describeStacks(s *runreport.Summary, masters []*stackMaster, rows []runreport.StackRow) {
	s.Stacks = rows
	skew := float64(startSkew(masters).Microseconds()) / 1000
	s.StartSkewMs = &skew
	var hosts, urls, files, split []string
	for _, m := range masters {
		if !slices.Contains(hosts, m.host) {
			hosts = append(hosts, m.host)
		}
		urls = append(urls, m.opts.masterURL)
		if m.opts.locustfilesSHA256 != "" && !slices.Contains(files, m.opts.locustfilesSHA256) {
			files = append(files, m.opts.locustfilesSHA256)
		}
		split = append(split, fmt.Sprintf("%s=%d", m.name, m.users))
		if m.failed != "" {
			s.Interrupted = true
		}
	}
	s.Host, s.LocustfilesSHA256 = strings.Join(hosts, ","), strings.Join(files, ",")
	s.Parameters["masterUrl"] = strings.Join(urls, ",")
	s.Parameters["stacks"] = strings.Join(split, ",")
}
