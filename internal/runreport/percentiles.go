package runreport

import (
	"fmt"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
)

// Where a summary's percentiles come from.
const (
	// FromHistogram: the master's exact merged distribution, which later
	// runs can be added to.
	FromHistogram = "histogram"
	// FromCSV: Locust's stats CSV, when the master serves no histograms.
	FromCSV = "csv"
)

// WithPercentilesOf returns s with every endpoint's and the total's p50,
// p95 and p99 taken from the master's histograms, computed as Locust
// computes them. It fails, leaving s as it is, when the histograms do not
// hold the same requests as s: an endpoint missing, or counts that differ.
func (s Stats) WithPercentilesOf(d distribution.Run) (Stats, error) {
	apply := func(e Endpoint, h distribution.Entry) (Endpoint, error) {
		if h.Requests != int64(e.Requests) {
			return e, fmt.Errorf("%s: %d requests in the histograms, %d in the stats CSV", e.Key(), h.Requests, e.Requests)
		}
		e.Samples = int(h.ResponseTimes.Count())
		for _, p := range []struct {
			at  float64
			set *float64
		}{{0.50, &e.P50Ms}, {0.95, &e.P95Ms}, {0.99, &e.P99Ms}} {
			if ms, ok := h.ResponseTimes.Percentile(p.at); ok {
				*p.set = float64(ms)
			}
		}
		return e, nil
	}
	out := Stats{Endpoints: make([]Endpoint, len(s.Endpoints))}
	for i, e := range s.Endpoints {
		h, ok := d.Entry(e.Method, e.Name)
		if !ok {
			return s, fmt.Errorf("%s is in the stats CSV but not in the histograms", e.Key())
		}
		var err error
		if out.Endpoints[i], err = apply(e, h); err != nil {
			return s, err
		}
	}
	var err error
	if out.Total, err = apply(s.Total, d.Total); err != nil {
		return s, err
	}
	return out, nil
}
