package components

import (
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// sample is one series as Prometheus stores a scrape of it: a summary's
// quantiles become series with a "quantile" label, a histogram's buckets
// series named _bucket with an "le" label, and both add _sum and _count
// (Prometheus' text format, "Histograms and summaries").
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// stored flattens parsed metric families into the series Prometheus keeps.
func stored(families map[string]*dto.MetricFamily) []sample {
	var out []sample
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			with := func(k, v string) map[string]string {
				c := map[string]string{k: v}
				for a, b := range labels {
					c[a] = b
				}
				return c
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, sample{name, labels, m.GetCounter().GetValue()})
			case dto.MetricType_GAUGE:
				out = append(out, sample{name, labels, m.GetGauge().GetValue()})
			case dto.MetricType_SUMMARY:
				for _, q := range m.GetSummary().GetQuantile() {
					out = append(out, sample{name, with("quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)), q.GetValue()})
				}
				out = append(out, sample{name + "_sum", labels, m.GetSummary().GetSampleSum()},
					sample{name + "_count", labels, float64(m.GetSummary().GetSampleCount())})
			case dto.MetricType_HISTOGRAM:
				for _, b := range m.GetHistogram().GetBucket() {
					out = append(out, sample{name + "_bucket", with("le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)), float64(b.GetCumulativeCount())})
				}
				out = append(out, sample{name + "_bucket", with("le", "+Inf"), float64(m.GetHistogram().GetSampleCount())},
					sample{name + "_sum", labels, m.GetHistogram().GetSampleSum()},
					sample{name + "_count", labels, float64(m.GetHistogram().GetSampleCount())})
			}
		}
	}
	return out
}

// maxQuery is the one PromQL shape the dashboard's whole-run panels use:
// max [by (labels)] (metric{matchers}), matchers being = or !=.
var maxQuery = regexp.MustCompile(`^max(?: by \(([a-z_, ]*)\))? ?\(([a-z_]+)\{([^}]*)\}\)$`)

var matcher = regexp.MustCompile(`^([a-z_]+)(!?=)"([^"]*)"$`)

// evalMax evaluates a maxQuery over one master's scrape as Prometheus
// would: the matcher namespace="$namespace" is the scrape target's, which
// Prometheus' service discovery attaches, so every served series passes
// it. It answers each group's value, keyed by its "by" labels' values
// joined with a space. NaN is a value like any other to max.
func evalMax(t *testing.T, expr string, series []sample) map[string]float64 {
	t.Helper()
	m := maxQuery.FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("the dashboard's query %q is not of the form max [by (...)] (metric{...}) this test evaluates", expr)
	}
	var by []string
	for _, l := range strings.Split(m[1], ",") {
		if l = strings.TrimSpace(l); l != "" {
			by = append(by, l)
		}
	}
	type match struct{ label, op, value string }
	var matchers []match
	for _, part := range strings.Split(m[3], ",") {
		mm := matcher.FindStringSubmatch(strings.TrimSpace(part))
		if mm == nil {
			t.Fatalf("matcher %q of %q", part, expr)
		}
		if mm[1] == "namespace" && mm[3] == "$namespace" {
			continue
		}
		matchers = append(matchers, match{mm[1], mm[2], mm[3]})
	}
	out := map[string]float64{}
	for _, s := range series {
		if s.name != m[2] {
			continue
		}
		selected := true
		for _, x := range matchers {
			// A missing label matches as "" (PromQL's label matching).
			if (s.labels[x.label] == x.value) != (x.op == "=") {
				selected = false
			}
		}
		if !selected {
			continue
		}
		var key []string
		for _, l := range by {
			key = append(key, s.labels[l])
		}
		k := strings.Join(key, " ")
		if v, ok := out[k]; !ok || s.value > v || math.IsNaN(v) {
			out[k] = s.value
		}
	}
	return out
}

// dashboardTarget is the query of the target with legend legend in the
// panel whose title starts with title.
func dashboardTarget(t *testing.T, title, legend string) string {
	t.Helper()
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr         string `json:"expr"`
				LegendFormat string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range d.Panels {
		if !strings.HasPrefix(p.Title, title) {
			continue
		}
		for _, q := range p.Targets {
			if q.LegendFormat == legend {
				found = append(found, q.Expr)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d targets with legend %q in a panel titled %q...", len(found), legend, title)
	}
	return found[0]
}

// Titles of the dashboard's whole-run response-time panels.
const (
	wholeRunPanel    = "Response time p50 / p95 / p99 since the test started"
	perEndpointPanel = "Response time p95 per endpoint since the test started"
)
