package runreport

import (
	"math"
	"slices"
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
//
// One odd baseline (a warm cache, a run cut short) must not blind the
// gate: over five runs its deviation dominates s, and 250, 250, 250, 250
// and 125 ms would allow +157%. From five baseline runs on, the one run
// farthest from their median is left out when it is an outlier by the
// Hampel identifier: |x - median| > 3.5 x 1.4826 x MAD, the modified
// z-score of Iglewicz and Hoaglin. Leaving a run out narrows s, so the
// bound is then taken with droppedRunQuantile instead of t, a multiplier
// found by simulation so that, over all draws of i.i.d. normal logarithms
// (those with a run left out and those without), an unchanged system
// still fails a figure in 2.5% of runs. Without an outlier the bound is
// the t bound as before.

// DefaultBaselineRuns is how many earlier passing runs make the baseline.
const DefaultBaselineRuns = 5

// tQuantile975 is Student's t distribution's one-sided 97.5% quantile by
// degrees of freedom, 1 to 30 (NIST/SEMATECH e-Handbook of Statistical
// Methods, table 1.3.6.7.2, column 0.975); beyond 30, tQuantile computes it.
// Each of the two figures gets 2.5%, so that an unchanged system fails the
// gate on at most 5% of runs (Bonferroni).
var tQuantile975 = []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// droppedRunQuantile replaces t(0.975, n-2) when one of
// n baseline runs (5 to 30; beyond, the last) was left out as an outlier.
// Each is the simulated quantile (10^6 draws for each n, rounded up), made
// non-increasing in n. At n = 5 it is 7.88 against t's 3.18 x 1.12: the
// left-out run's draws are those whose other four lie close together.
var droppedRunQuantile = []float64{7.88, 6.40, 4.65, 4.19, 3.69, 3.53, 3.21, 3.21, 3.02, 2.94, 2.88, 2.88, 2.72, 2.70,
	2.66, 2.62, 2.62, 2.62, 2.55, 2.55, 2.55, 2.44, 2.44, 2.44, 2.44, 2.37}

// minRunsForOutlier is how many baseline runs it takes to call one of them
// an outlier: with four or fewer, the median and MAD of the rest say too
// little.
const minRunsForOutlier = 5

// hampelCut is the modified z-score beyond which a baseline run is an
// outlier (Iglewicz and Hoaglin's 3.5).
const hampelCut = 3.5

// z975 is the standard normal distribution's 97.5% quantile.
const z975 = 1.959963984540054

// tQuantile is t(0.975, df): from the table up to 30 degrees of freedom,
// and beyond by the Cornish-Fisher expansion of t about the normal quantile
// (Abramowitz and Stegun, Handbook of Mathematical Functions, 26.7.5, its
// four terms), within 1e-5 of the exact value from 30 on. The normal's
// 1.960 alone is 4% too small at 31 and lets an unchanged system fail a
// figure in about 2.9% of runs, not 2.5%.
func tQuantile(df int) float64 {
	if df < len(tQuantile975) {
		return tQuantile975[df]
	}
	x, v := z975, float64(df)
	x2 := x * x
	g1 := x * (x2 + 1) / 4
	g2 := x * ((5*x2+16)*x2 + 3) / 96
	g3 := x * (((3*x2+19)*x2+17)*x2 - 15) / 384
	g4 := x * ((((79*x2+776)*x2+1482)*x2-1920)*x2 - 945) / 92160
	return x + g1/v + g2/(v*v) + g3/(v*v*v) + g4/(v*v*v*v)
}

// regression compares now with the baseline values of one figure;
// worseIfHigher says which way is worse. It returns how much worse now is
// than the baselines' geometric mean and the limit it is held to, both in
// percent, and whether it regressed. Values of 0 or less (a figure the run
// did not have) are left out, and so is one outlier (withoutOutlier).
func regression(now float64, baseline []float64, worseIfHigher bool, effectPct float64) (worsePct, limitPct float64, regressed bool) {
	mean, bound, ok := gateBound(baseline, effectPct)
	if !ok || now <= 0 {
		return 0, 0, false
	}
	worse := math.Log(now) - mean
	if !worseIfHigher {
		worse = -worse
	}
	round := func(x float64) float64 { return math.Round(x*10) / 10 }
	return round(math.Expm1(worse) * 100), round(math.Expm1(bound) * 100), worse > bound
}

// gateBound is the mean of the baseline values' logarithms and how far
// beyond it, in the worse direction, a run's logarithm may go: the larger
// of the effect size and the baselines' prediction bound. ok is false when
// no baseline value is above 0.
func gateBound(baseline []float64, effectPct float64) (mean, bound float64, ok bool) {
	var logs []float64
	for _, b := range baseline {
		if b > 0 {
			logs = append(logs, math.Log(b))
		}
	}
	if len(logs) == 0 {
		return 0, 0, false
	}
	kept, dropped := withoutOutlier(logs)
	n := float64(len(kept))
	for _, l := range kept {
		mean += l / n
	}
	bound = math.Log1p(effectPct / 100)
	if len(kept) >= 2 {
		var ss float64
		for _, l := range kept {
			ss += (l - mean) * (l - mean)
		}
		sd := math.Sqrt(ss / (n - 1))
		spread := tQuantile(len(kept)-1) * sd * math.Sqrt(1+1/n)
		if dropped {
			spread = droppedRunQuantile[min(len(logs), minRunsForOutlier+len(droppedRunQuantile)-1)-minRunsForOutlier] * sd * math.Sqrt(1+1/n)
		}
		bound = max(bound, spread)
	}
	return mean, bound, true
}

// withoutOutlier is logs without the value farthest from their median
// when it is an outlier by the Hampel identifier, and whether it left one
// out; fewer than minRunsForOutlier values are kept whole.
func withoutOutlier(logs []float64) ([]float64, bool) {
	if len(logs) < minRunsForOutlier {
		return logs, false
	}
	m := median(logs)
	dev := make([]float64, len(logs))
	far := 0
	for i, l := range logs {
		dev[i] = math.Abs(l - m)
		if dev[i] > dev[far] {
			far = i
		}
	}
	if dev[far] <= hampelCut*1.4826*median(dev) {
		return logs, false
	}
	return append(slices.Clone(logs[:far]), logs[far+1:]...), true
}

// median is the middle of v, or the mean of its two middle values.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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

// GateBand is what the regression gate allows a run of the total's p95 and
// throughput: the baselines' geometric means, the highest p95 and the
// lowest throughput that still pass.
type GateBand struct {
	P95MeanMs, P95MaxMs float64
	RPSMean, RPSMin     float64
}

// Band is the GateBand of the baselines for effect size effectPct; ok is
// false when there is no gate (effectPct 0 or less, or no baseline with
// both figures).
func Band(baselines []Stats, effectPct float64) (band GateBand, ok bool) {
	if effectPct <= 0 {
		return band, false
	}
	var p95, rps []float64
	for _, b := range baselines {
		p95 = append(p95, b.Total.P95Ms)
		rps = append(rps, b.Total.RPS)
	}
	p95Mean, p95Bound, okP95 := gateBound(p95, effectPct)
	rpsMean, rpsBound, okRPS := gateBound(rps, effectPct)
	if !okP95 || !okRPS {
		return band, false
	}
	return GateBand{
		P95MeanMs: math.Exp(p95Mean), P95MaxMs: math.Exp(p95Mean + p95Bound),
		RPSMean: math.Exp(rpsMean), RPSMin: math.Exp(rpsMean - rpsBound),
	}, true
}
