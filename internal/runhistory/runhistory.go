// Package runhistory reads a stack's past load-test runs from its results
// folder (results/<stack>/<UTC time>/summary.json, one folder per run, as
// cmd/loadtest writes them), prints them as a table and draws their trend.
package runhistory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// Run is one past run: its folder and its summary.
type Run struct {
	Dir     string
	Summary runreport.Summary
}

// Load reads the runs of stackDir, oldest first. Folders without a
// summary.json (a run still going, or one that could not run) are skipped;
// a summary.json that cannot be read is an error naming it. A stackDir
// that does not exist is an error wrapping os.ErrNotExist.
func Load(stackDir string) ([]Run, error) {
	entries, err := os.ReadDir(stackDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no runs in %s (%w): run cmd/loadtest for the stack first", stackDir, err)
	}
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		r, err := Read(filepath.Join(stackDir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Run) int { return strings.Compare(a.Dir, b.Dir) })
	return runs, nil
}

// Read reads the run in dir, a results folder; the error wraps
// os.ErrNotExist when it has no summary.json.
func Read(dir string) (Run, error) {
	path := filepath.Join(dir, "summary.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return Run{}, err
	}
	var s runreport.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Run{}, fmt.Errorf("%s: %w", path, err)
	}
	return Run{Dir: dir, Summary: s}, nil
}

// Last is the newest n runs, oldest first.
func Last(runs []Run, n int) []Run {
	if n > 0 && len(runs) > n {
		return runs[len(runs)-n:]
	}
	return runs
}

// Table writes one line per run: time, commit, users, rps, p50/p95/p99,
// failures and verdict, and whether it was accepted as the new level.
func Table(w io.Writer, runs []Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tcommit\tusers\trps\tp50 ms\tp95 ms\tp99 ms\tfailures\tverdict\t")
	for _, r := range runs {
		s := r.Summary
		t := s.Stats.Total
		verdict := s.Verdict
		if s.Accepted != nil {
			verdict += ", accepted as the new level"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%g\t%g\t%g\t%d/%d\t%s\t\n",
			started(r), short(s.GitCommit), s.Parameters["users"], t.RPS, t.P50Ms, t.P95Ms, t.P99Ms, t.Failures, t.Requests, verdict)
	}
	return tw.Flush()
}

func started(r Run) string {
	if t, err := time.Parse(time.RFC3339, r.Summary.StartedAt); err == nil {
		return t.UTC().Format("2006-01-02 15:04")
	}
	return filepath.Base(r.Dir)
}

func short(commit string) string {
	if commit == "" {
		return "-"
	}
	return commit[:min(len(commit), 8)]
}
