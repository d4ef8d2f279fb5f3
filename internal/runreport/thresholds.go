package runreport

import (
	"fmt"
	"math"
)

// Thresholds a run must meet; a zero value of a limit is no limit.
type Thresholds struct {
	// MaxFailRatio is the highest share of failed requests, 0 to 1; a
	// negative value is no limit (0 is a real limit: no failure at all).
	MaxFailRatio float64 `json:"maxFailRatio"`
	// MaxP95Ms and MaxP99Ms bound the total's percentiles, and every
	// endpoint's when PerEndpoint is set.
	MaxP95Ms    float64 `json:"maxP95Ms,omitempty"`
	MaxP99Ms    float64 `json:"maxP99Ms,omitempty"`
	PerEndpoint bool    `json:"perEndpoint,omitempty"`
	// MinRPS is the lowest total throughput.
	MinRPS float64 `json:"minRps,omitempty"`
	// MaxRegressionPct bounds how much worse than the baseline the total's
	// p95 and throughput may be, in percent.
	MaxRegressionPct float64 `json:"maxRegressionPct,omitempty"`
}

// Breach is one threshold a run did not meet.
type Breach struct {
	Threshold string  `json:"threshold"`
	Endpoint  string  `json:"endpoint"`
	Limit     float64 `json:"limit"`
	Got       float64 `json:"got"`
}

func (b Breach) String() string {
	return fmt.Sprintf("%s of %s: %.4g, limit %.4g", b.Threshold, b.Endpoint, b.Got, b.Limit)
}

// Check returns every threshold s breaches; baselines are the earlier runs
// a regression is judged against (none: no regression check).
func (t Thresholds) Check(s Stats, baselines []Stats) []Breach {
	var out []Breach
	endpoints := []Endpoint{s.Total}
	if t.PerEndpoint {
		endpoints = append(endpoints, s.Endpoints...)
	}
	for _, e := range endpoints {
		name := e.Key()
		if e.Name == TotalName {
			name = "all requests"
		}
		if t.MaxFailRatio >= 0 && e.FailRatio() > t.MaxFailRatio {
			out = append(out, Breach{"max fail ratio", name, t.MaxFailRatio, e.FailRatio()})
		}
		if t.MaxP95Ms > 0 && e.P95Ms > t.MaxP95Ms {
			out = append(out, Breach{"max p95 ms", name, t.MaxP95Ms, e.P95Ms})
		}
		if t.MaxP99Ms > 0 && e.P99Ms > t.MaxP99Ms {
			out = append(out, Breach{"max p99 ms", name, t.MaxP99Ms, e.P99Ms})
		}
	}
	if t.MinRPS > 0 && s.Total.RPS < t.MinRPS {
		out = append(out, Breach{"min rps", "all requests", t.MinRPS, s.Total.RPS})
	}
	return append(out, Regressions(s, baselines, t.MaxRegressionPct)...)
}

// pctChange is the change from old to new in percent; 0 when old is 0.
func pctChange(old, new float64) float64 {
	if old == 0 {
		return 0
	}
	return math.Round((new-old)/old*1000) / 10
}

// Change is how one figure moved against the baseline.
type Change struct {
	Endpoint string  `json:"endpoint"`
	Figure   string  `json:"figure"`
	Baseline float64 `json:"baseline"`
	Now      float64 `json:"now"`
	// Pct is the change in percent; 0 when Baseline is 0, where a
	// percentage says nothing (Text says how the figure moved).
	Pct float64 `json:"pct"`
}

// Text is the change as reports show it: "+12.5%", or, from a baseline of
// 0, the difference itself ("+0.12 from 0"), which no percentage can say.
func (c Change) Text() string {
	if c.Baseline == 0 && c.Now != 0 {
		return fmt.Sprintf("%+.4g from 0", c.Now)
	}
	return fmt.Sprintf("%+.1f%%", c.Pct)
}

// Compare lists, for the total and each endpoint both runs have, how RPS,
// p95, p99 and the fail ratio moved.
func Compare(s, baseline Stats) []Change {
	old := map[string]Endpoint{baseline.Total.Key(): baseline.Total}
	for _, e := range baseline.Endpoints {
		old[e.Key()] = e
	}
	var out []Change
	for _, e := range append([]Endpoint{s.Total}, s.Endpoints...) {
		b, ok := old[e.Key()]
		if !ok {
			continue
		}
		name := e.Key()
		if e.Name == TotalName {
			name = "all requests"
		}
		for _, f := range []struct {
			figure   string
			old, now float64
		}{{"rps", b.RPS, e.RPS}, {"p95 ms", b.P95Ms, e.P95Ms}, {"p99 ms", b.P99Ms, e.P99Ms}, {"fail ratio", b.FailRatio(), e.FailRatio()}} {
			out = append(out, Change{name, f.figure, f.old, f.now, pctChange(f.old, f.now)})
		}
	}
	return out
}
