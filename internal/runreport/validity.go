package runreport

import (
	"fmt"
	"math"
	"time"
)

// A run is invalid when it cannot support a verdict: its figures are not a
// measurement of the system the thresholds and the baselines describe. An
// invalid run never passes and never becomes a baseline.

// MinTailRequests is how many requests a gated percentile needs beyond
// it: at least 20, so that p95 needs 400 requests and p99 2000. Locust
// takes the percentile at index int(n·p) of the sorted response times, so
// with n ≤ 20 the p95 is the slowest request. With 20 requests beyond it,
// the p95's own sampling error (log-normal response times of σ 0.5, the
// spread of a typical web endpoint) is about 5%: sqrt(p(1-p)/n)·σ/φ(z_p)
// = 5.3% at n = 400, half the 10% effect size a regression gate is
// usually given, so the gate sees the system, not the draw.
const MinTailRequests = 20

// MinRequests is how many requests a percentile p (0.95 for p95) needs to
// be gated on.
func MinRequests(p float64) int {
	return int(math.Ceil(MinTailRequests/(1-p) - 1e-9))
}

// DefaultInvalidFailRatio is the share of failed requests above which a
// run is invalid unless Validity.MaxFailRatio says otherwise. Locust logs
// failures' response times with the successes'. p95 is decided by the
// slowest 5% of requests, so beyond 5% of failures it can be a figure of
// the failures alone: a target refusing connections in 1 ms reads as a
// speed-up, and one timing out as a slowdown, of a system that did not
// answer.
const DefaultInvalidFailRatio = 0.05

// Validity are the rules a run must meet to be judged.
type Validity struct {
	// MaxFailRatio is the highest share of failed requests of a valid
	// run; negative: no limit.
	MaxFailRatio float64
	// RunTime is how long the run was to last.
	RunTime time.Duration
}

// DurationTolerance is how much shorter than its run time a valid run may
// be: 5%, at least 2 s. cmd/loadtest stops the run itself at its run time,
// so a complete run lasts the run time or longer; a shorter one was
// stopped by someone else (the web UI's Stop, its last worker leaving),
// and its last 5% would barely move its figures.
func DurationTolerance(runTime time.Duration) time.Duration {
	return max(2*time.Second, runTime/20)
}

// Check lists why s cannot support a verdict: too few requests behind a
// percentile its thresholds gate, too many failures, a run cut short, or a
// target, worker count, image or locustfiles other than its baselines'.
// None: valid.
func (v Validity) Check(s Summary, baselines []Summary) []string {
	var why []string
	total := s.Stats.Total
	if total.Requests == 0 {
		why = append(why, "no requests: the users sent none, or none was recorded")
	}
	why = append(why, tooFewRequests(s)...)
	if v.MaxFailRatio >= 0 && total.Requests > 0 && total.FailRatio() > v.MaxFailRatio {
		why = append(why, fmt.Sprintf("%.1f%% of requests failed, above the %.1f%% a valid run may have (its percentiles would be the failures'): is the target up?",
			100*total.FailRatio(), 100*v.MaxFailRatio))
	}
	if ran := time.Duration(s.DurationS * float64(time.Second)); v.RunTime > 0 && ran < v.RunTime-DurationTolerance(v.RunTime) {
		why = append(why, fmt.Sprintf("ran %s of its %s run time: something else stopped it (the web UI's Stop, its workers leaving)",
			ran.Round(time.Second), v.RunTime))
	}
	return append(why, unlikeBaselines(s, baselines)...)
}

// tooFewRequests lists the percentiles s's thresholds gate that have fewer
// requests behind them than MinRequests: the total's p95 when a p95 limit
// or the regression gate is set, its p99 with a p99 limit, and with
// PerEndpoint each endpoint's p95 and p99 that have a limit.
func tooFewRequests(s Summary) []string {
	t := s.Thresholds
	var why []string
	check := func(name string, e Endpoint, p float64, gated bool) {
		n := e.Samples
		if n == 0 { // a summary from before Samples
			n = e.Requests
		}
		if need := MinRequests(p); gated && n < need {
			why = append(why, fmt.Sprintf("p%.0f of %s is gated on %d requests; it needs at least %d (%d beyond it): run longer or with more users",
				100*p, name, n, need, MinTailRequests))
		}
	}
	check("all requests", s.Stats.Total, 0.95, t.MaxP95Ms > 0 || t.MaxRegressionPct > 0)
	check("all requests", s.Stats.Total, 0.99, t.MaxP99Ms > 0)
	if t.PerEndpoint {
		for _, e := range s.Stats.Endpoints {
			check(e.Key(), e, 0.95, t.MaxP95Ms > 0)
			check(e.Key(), e, 0.99, t.MaxP99Ms > 0)
		}
	}
	return why
}

// unlikeBaselines lists how s differs from its baselines in what makes two
// runs measure the same system: the target, the worker count, the image
// and the locustfiles. A figure a summary did not record (an older run's) is not
// compared.
func unlikeBaselines(s Summary, baselines []Summary) []string {
	var why []string
	for _, f := range []struct {
		what string
		of   func(Summary) string
	}{
		{"target", func(r Summary) string { return r.Host }},
		{"workers", func(r Summary) string {
			if r.Workers == 0 {
				return ""
			}
			return fmt.Sprint(r.Workers)
		}},
		{"image", func(r Summary) string { return r.Image }},
		{"locustfiles", func(r Summary) string { return r.LocustfilesSHA256 }},
	} {
		now := f.of(s)
		if now == "" {
			continue
		}
		for _, b := range baselines {
			if was := f.of(b); was != "" && was != now {
				why = append(why, fmt.Sprintf("its %s %s differs from its baseline %s's %s: the baselines measured another system (if the change is meant, make this run the new level with loadtest accept)",
					f.what, now, b.StartedAt, was))
				break
			}
		}
	}
	return why
}
