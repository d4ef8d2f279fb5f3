package runreport

import (
	"math"
)

// The regression gate judges a run against several earlier runs of the same
// test, not one: a single baseline run makes the gate as noisy as a single
// run (a system whose p95 wanders 10% from run to run fails a 10% gate on
// one good build in four).
//
// On each figure (the total's p95, higher is worse; its rps, lower is
// worse) it works on logarithms, since run-to-run noise in latency and
// throughput is a ratio, not a difference. A run regresses when its figure
// is worse than the baseline runs' geometric mean by more than both
//   - the effect size the user asks for (MaxRegressionPct), and
//   - what the baseline runs' own spread allows: the one-sided 97.5%
//     prediction bound for one more run of the same system,
//     t(0.975, n-1) x s x sqrt(1 + 1/n), with s the sample standard
//     deviation of the n baseline runs' logarithms.
// With one baseline run there is no spread to measure and only the effect
// size applies, as a one-run gate does.

// DefaultBaselineRuns is how many earlier passing runs make the baseline.
const DefaultBaselineRuns = 5

// tQuantile975 is Student's t distribution's one-sided 97.5% quantile by
// degrees of freedom, 1 to 30 (NIST/SEMATECH e-Handbook of Statistical
// Methods, table 1.3.6.7.2, column 0.975); beyond 30, the normal's 1.960.
// Each of the two figures gets 2.5%, so that an unchanged system fails the
// gate on at most 5% of runs (Bonferroni).
var tQuantile975 = []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

func tQuantile(df int) float64 {
	if df < len(tQuantile975) {
		return tQuantile975[df]
	}
	return 1.960
}

// regression compares now with the baseline values of one figure;
// worseIfHigher says which way is worse. It returns how much worse now is
// than the baselines' geometric mean and the limit it is held to, both in
// percent, and whether it regressed. Values of 0 or less (a figure the run
// did not have) are left out.
func regression(now float64, baseline []float64, worseIfHigher bool, effectPct float64) (worsePct, limitPct float64, regressed bool) {
	var logs []float64
	for _, b := range baseline {
		if b > 0 {
			logs = append(logs, math.Log(b))
		}
	}
	if len(logs) == 0 || now <= 0 {
		return 0, 0, false
	}
	n := float64(len(logs))
	var mean float64
	for _, l := range logs {
		mean += l / n
	}
	bound := math.Log1p(effectPct / 100)
	if len(logs) >= 2 {
		var ss float64
		for _, l := range logs {
			ss += (l - mean) * (l - mean)
		}
		sd := math.Sqrt(ss / (n - 1))
		bound = max(bound, tQuantile(len(logs)-1)*sd*math.Sqrt(1+1/n))
	}
	worse := math.Log(now) - mean
	if !worseIfHigher {
		worse = -worse
	}
	round := func(x float64) float64 { return math.Round(x*10) / 10 }
	return round(math.Expm1(worse) * 100), round(math.Expm1(bound) * 100), worse > bound
}

// Regressions lists the total's p95 and rps regressions of s against the
// baseline runs, at least effectPct worse and beyond their spread.
func Regressions(s Stats, baselines []Stats, effectPct float64) []Breach {
	if effectPct <= 0 || len(baselines) == 0 {
		return nil
	}
	var p95, rps []float64
	for _, b := range baselines {
		p95 = append(p95, b.Total.P95Ms)
		rps = append(rps, b.Total.RPS)
	}
	var out []Breach
	if worse, limit, bad := regression(s.Total.P95Ms, p95, true, effectPct); bad {
		out = append(out, Breach{"max p95 regression %", "all requests", limit, worse})
	}
	if worse, limit, bad := regression(s.Total.RPS, rps, false, effectPct); bad {
		out = append(out, Breach{"max rps regression %", "all requests", limit, worse})
	}
	return out
}
