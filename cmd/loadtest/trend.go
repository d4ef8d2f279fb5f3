package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/locust-eks/locust-on-eks/internal/resultstore"
	"github.com/locust-eks/locust-on-eks/internal/runhistory"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
)

// trendRuns is how many runs, this one included, each run's trend shows.
const trendRuns = 20

// runTrend draws the stack's last runs, this one included, into the run's
// folder (trend.svg, uploaded with it) and returns them as a Markdown
// table. The runs are the results folder's and, when the stack has a
// bucket, the bucket's: a CI runner starts with an empty folder, and the
// bucket is the stack's history.
func runTrend(ctx context.Context, stack, stackDir, dir string, store *resultstore.Store) (string, error) {
	runs, err := runhistory.Load(stackDir)
	if err != nil {
		return "", err
	}
	if store != nil {
		if runs, err = withBucketRuns(ctx, stack, filepath.Base(dir), runs, store, trendRuns); err != nil {
			return "", err
		}
	}
	runs = runhistory.Last(slices.DeleteFunc(runs, func(r runhistory.Run) bool { return filepath.Base(r.Dir) > filepath.Base(dir) }), trendRuns)
	if err := runhistory.Trend(filepath.Join(dir, "trend.svg"), "stack "+stack, runs); err != nil {
		return "", err
	}
	var table strings.Builder
	if err := runhistory.Table(&table, runs); err != nil {
		return "", err
	}
	return fmt.Sprintf("\n### The stack's last %d runs\n\n```\n%s```\n", len(runs), table.String()), nil
}

// withBucketRuns adds to local the bucket's newest runs (limit of them; 0:
// all) up to current (names compare as times; "~" sorts after all) that
// the results folder lacks, reading each one's summary.json.
func withBucketRuns(ctx context.Context, stack, current string, local []runhistory.Run, store *resultstore.Store, limit int) ([]runhistory.Run, error) {
	names, err := store.Runs(ctx, stack)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range local {
		have[filepath.Base(r.Dir)] = true
	}
	names = slices.DeleteFunc(names, func(n string) bool { return have[n] || n > current })
	if limit > 0 && len(names) > limit {
		names = names[len(names)-limit:]
	}
	runs := slices.Clone(local)
	for _, name := range names {
		b, err := store.Get(ctx, stack+"/"+name+"/summary.json")
		if errors.Is(err, resultstore.ErrNotFound) {
			continue // a run that could not finish its upload
		}
		if err != nil {
			return nil, err
		}
		var s runreport.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("s3://%s/%s/%s/summary.json: %w", store.Bucket(), stack, name, err)
		}
		runs = append(runs, runhistory.Run{Dir: "s3://" + store.Bucket() + "/" + stack + "/" + name, Summary: s})
	}
	slices.SortFunc(runs, func(a, b runhistory.Run) int { return strings.Compare(filepath.Base(a.Dir), filepath.Base(b.Dir)) })
	return runs, nil
}
