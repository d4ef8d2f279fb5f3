package runreport

import (
	"fmt"
	"strings"
)

// StackRow is one stack of a run across several stacks (cmd/loadtest
// --stack A --stack B): its master, its share of the load and its own
// figures. The summary's Stats are the stacks' merged; a row's are its
// master's alone.
type StackRow struct {
	Stack     string  `json:"stack"`
	MasterURL string  `json:"masterUrl"`
	Users     int     `json:"users"`
	SpawnRate float64 `json:"spawnRate"`
	Workers   int     `json:"workers"`
	Host      string  `json:"host,omitempty"`
	// SwarmAnsweredMs is when the master answered /swarm, in ms after the
	// first master of the run answered it.
	SwarmAnsweredMs float64 `json:"swarmAnsweredMs"`
	// Total is the master's total row, its percentiles from its own
	// histograms; zero for a stack that failed (its master's figures are
	// lost with it).
	Total Endpoint `json:"total"`
	// Failed says why the stack failed mid-run, and FailedAt when (RFC
	// 3339); empty for a stack that ran to the end.
	Failed   string `json:"failed,omitempty"`
	FailedAt string `json:"failedAt,omitempty"`
}

// stacksMarkdown is the table of a run's stacks and its start skew, empty
// for a run on one stack.
func (s Summary) stacksMarkdown() string {
	if len(s.Stacks) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nOne test across %d stacks", len(s.Stacks))
	if s.StartSkewMs != nil {
		fmt.Fprintf(&b, ", started within %.0f ms of each other", *s.StartSkewMs)
	}
	b.WriteString("; the figures above are their merged requests.\n\n| stack | users | workers | requests | failures | rps | p50 ms | p95 ms | p99 ms | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range s.Stacks {
		failed := ""
		if r.Failed != "" {
			failed = r.FailedAt + ": " + r.Failed
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f | %.0f | %.0f | %.0f | %s |\n", r.Stack, r.Users, r.Workers,
			r.Total.Requests, r.Total.Failures, r.Total.RPS, r.Total.P50Ms, r.Total.P95Ms, r.Total.P99Ms, strings.ReplaceAll(failed, "|", `\|`))
	}
	return b.String()
}
