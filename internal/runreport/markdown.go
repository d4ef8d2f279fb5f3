package runreport

import (
	"fmt"
	"strings"
)

// Summary is what summary.json holds about one run.
type Summary struct {
	Stack     string `json:"stack"`
	StartedAt string `json:"startedAt"`
	// EndedAt is when the master said the run had stopped, and DurationS
	// the seconds from StartedAt to then: a run cut short shows here.
	EndedAt    string            `json:"endedAt,omitempty"`
	DurationS  float64           `json:"durationS,omitempty"`
	Parameters map[string]string `json:"parameters"`
	// Host is the target the swarm ran against, as the master named it
	// when it started: --host, or the stack's targetHost.
	Host string `json:"host,omitempty"`
	// LocustfilesSHA256 is the checksum of the locustfiles the master ran
	// (its pod's locust-eks/locustfiles-sha256 annotation); empty when
	// loadtest reached the master by --master-url.
	LocustfilesSHA256 string `json:"locustfilesSha256,omitempty"`
	Locust            string `json:"locustVersion,omitempty"`
	Image             string `json:"image,omitempty"`
	Workers           int    `json:"workers"`
	GitCommit         string `json:"gitCommit,omitempty"`
	Stats             Stats  `json:"stats"`
	// PercentilesFrom says where Stats' percentiles come from: FromHistogram
	// or FromCSV.
	PercentilesFrom string     `json:"percentilesFrom,omitempty"`
	Thresholds      Thresholds `json:"thresholds"`
	Breaches        []Breach   `json:"breaches"`
	Baseline        string     `json:"baseline,omitempty"`
	// BaselineRuns are the runs the regression gate judged this one
	// against.
	BaselineRuns []string `json:"baselineRuns,omitempty"`
	Changes      []Change `json:"changes,omitempty"`
	// Interrupted is set when the run was stopped before its run time.
	Interrupted bool `json:"interrupted,omitempty"`
	// Invalid says why the run cannot support a verdict (Validity.Check);
	// such a run never passes and is never a baseline.
	Invalid []string `json:"invalid,omitempty"`
	// Missing names the files of the run's results the master could not
	// give after several tries, each with why: the verdict stands on
	// stats.csv, without which there is no summary at all.
	Missing []string `json:"missing,omitempty"`
	// Verdict is "pass", "fail", "invalid" or "interrupted".
	Verdict string `json:"verdict"`
	// Accepted is set when a person accepted this run's level as the new
	// normal (loadtest accept): whatever its verdict, it is a baseline, and
	// the runs before it are not.
	Accepted *Acceptance `json:"accepted,omitempty"`
	// Stacks are the stacks of a run across several, one row each; the
	// run's Stats are their merged requests. Empty for a run on one stack.
	Stacks []StackRow `json:"stacks,omitempty"`
	// StartSkewMs is, for a run across several stacks, the spread in ms of
	// the times their masters answered /swarm.
	StartSkewMs *float64 `json:"startSkewMs,omitempty"`
}

// Acceptance records who accepted a run as the new level, and when.
type Acceptance struct {
	At string `json:"at"`
	By string `json:"by,omitempty"`
}

// Verdicts a summary can have.
const (
	VerdictPass        = "pass"
	VerdictFail        = "fail"
	VerdictInvalid     = "invalid"
	VerdictInterrupted = "interrupted"
)

// Markdown is the report for a pull request, a job summary or a person.
func (s Summary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Load test %s: %s\n\n", s.Stack, strings.ToUpper(s.Verdict))
	fmt.Fprintf(&b, "Started %s, %d workers", s.StartedAt, s.Workers)
	if s.DurationS > 0 {
		fmt.Fprintf(&b, ", ran %.0f s", s.DurationS)
	}
	if s.Host != "" {
		fmt.Fprintf(&b, " against %s", s.Host)
	}
	if s.Locust != "" {
		fmt.Fprintf(&b, ", Locust %s", s.Locust)
	}
	if s.GitCommit != "" {
		fmt.Fprintf(&b, ", commit %s", s.GitCommit)
	}
	b.WriteString(".\n\n| endpoint | requests | failures | rps | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
	thin := false
	// A percentile with fewer than MinTailRequests samples beyond it is
	// close to the slowest request (with 20 or fewer, p95 is the slowest):
	// marked. Summaries from before Samples was recorded have 0: unknown.
	percentile := func(ms float64, p float64, samples int) string {
		if samples > 0 && samples < MinRequests(p) {
			thin = true
			return fmt.Sprintf("%.0f ⚠", ms)
		}
		return fmt.Sprintf("%.0f", ms)
	}
	row := func(name string, e Endpoint) {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %s | %s | %s |\n", strings.ReplaceAll(name, "|", `\|`), e.Requests, e.Failures, e.RPS,
			percentile(e.P50Ms, 0.50, e.Samples), percentile(e.P95Ms, 0.95, e.Samples), percentile(e.P99Ms, 0.99, e.Samples))
	}
	for _, e := range s.Stats.Endpoints {
		row(e.Key(), e)
	}
	row("**all requests**", s.Stats.Total)
	if thin {
		fmt.Fprintf(&b, "\n⚠: fewer than %d samples beyond this percentile (p50 needs %d, p95 %d, p99 %d), so it is nearly the slowest of them, not a figure of the system.\n",
			MinTailRequests, MinRequests(0.50), MinRequests(0.95), MinRequests(0.99))
	}
	b.WriteString(s.stacksMarkdown())
	if len(s.Invalid) > 0 {
		b.WriteString("\n**Invalid run, not judged:**\n\n")
		for _, why := range s.Invalid {
			fmt.Fprintf(&b, "- %s\n", why)
		}
	} else if len(s.Breaches) > 0 {
		b.WriteString("\n**Thresholds breached:**\n\n")
		for _, br := range s.Breaches {
			fmt.Fprintf(&b, "- %s\n", br)
		}
	} else {
		b.WriteString("\nAll thresholds met.\n")
	}
	if len(s.Missing) > 0 {
		b.WriteString("\n**Not saved** (the master could not give them; the figures above stand):\n\n")
		for _, m := range s.Missing {
			fmt.Fprintf(&b, "- %s\n", m)
		}
	}
	if len(s.BaselineRuns) > 0 {
		fmt.Fprintf(&b, "\nThe regression gate's baselines, %d earlier runs of the same load, newest first:\n\n", len(s.BaselineRuns))
		for _, r := range s.BaselineRuns {
			fmt.Fprintf(&b, "- %s\n", r)
		}
	}
	if s.Baseline != "" {
		fmt.Fprintf(&b, "\nAgainst the baseline %s:\n\n| endpoint | figure | baseline | now | change |\n|---|---|---:|---:|---:|\n", s.Baseline)
		for _, c := range s.Changes {
			fmt.Fprintf(&b, "| %s | %s | %.4g | %.4g | %s |\n", strings.ReplaceAll(c.Endpoint, "|", `\|`), c.Figure, c.Baseline, c.Now, c.Text())
		}
	}
	return b.String()
}
