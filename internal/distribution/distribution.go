// Package distribution holds the response-time distributions of a Locust
// run as its master holds them: per endpoint, how many requests answered in
// each of Locust's rounded buckets. Percentiles cannot be averaged across
// runs or load generators; distributions can be added, and the percentiles
// of a sum are those of the pooled requests.
//
// The shape is what the component's plugin serves at
// /locust-eks/histograms (components/locust_eks_worker.py) and what
// cmd/loadtest saves as histogram.json.
package distribution

import (
	"cmp"
	"slices"
)

// Histogram maps a response time in ms, rounded as Locust rounds it
// (bucket_response_time in locust/stats.py: exact below 100 ms, to 10 ms
// below 1 s, to 100 ms below 10 s, to 1 s above), to the number of
// requests that took that long.
type Histogram map[int64]int64

// Count is the number of requests in the histogram.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Percentile is Locust's percentile p (0 to 1) of the response times,
// computed as Locust 2.46.2 and later compute it
// (calculate_response_time_percentile over num_requests -
// num_none_requests, stats.py@2.46.3:161-177, 603-614; locust commit
// 7a84eb3a): walking down from the slowest bucket, the first bucket at which
// no more than int(count x p) requests remain, count being the requests with
// a response time. Locust before 2.46.2 counts the requests without one too
// (stats.py@2.24.0:597-604, the same at 2.12.1), so its CSV's figure
// differs from this one when there are such requests. int(count x p) is
// one rank above nearest-rank: with 20 or fewer requests p95 is the
// slowest, and with 100 or fewer so is p99; this is not "the time within
// which the fraction p finished" for small counts (see
// runreport.MinTailRequests). ok is false for an empty histogram, whose
// percentile is missing, not 0.
func (h Histogram) Percentile(p float64) (ms int64, ok bool) {
	count := h.Count()
	if count == 0 {
		return 0, false
	}
	within := int64(float64(count) * p)
	buckets := make([]int64, 0, len(h))
	for b := range h {
		buckets = append(buckets, b)
	}
	slices.SortFunc(buckets, func(a, b int64) int { return cmp.Compare(b, a) })
	var processed int64
	for _, b := range buckets {
		processed += h[b]
		if count-processed <= within {
			return b, true
		}
	}
	return 0, false
}

// Add returns the sum of h and o: the histogram of their pooled requests.
func (h Histogram) Add(o Histogram) Histogram {
	sum := make(Histogram, max(len(h), len(o)))
	for b, c := range h {
		sum[b] += c
	}
	for b, c := range o {
		sum[b] += c
	}
	return sum
}

// Entry is one endpoint's requests (or the total's).
type Entry struct {
	Name     string `json:"name"`
	Method   string `json:"method"`
	Requests int64  `json:"num_requests"`
	Failures int64  `json:"num_failures"`
	// NoneRequests were counted without a response time, so in no bucket.
	NoneRequests  int64     `json:"num_none_requests"`
	ResponseTimes Histogram `json:"response_times"`
}

func (e Entry) add(o Entry) Entry {
	e.Requests += o.Requests
	e.Failures += o.Failures
	e.NoneRequests += o.NoneRequests
	e.ResponseTimes = e.ResponseTimes.Add(o.ResponseTimes)
	return e
}

// Run is the distributions of one run, or of several added together.
type Run struct {
	Entries []Entry `json:"entries"`
	Total   Entry   `json:"total"`
}

// Entry returns the entry of method and name.
func (r Run) Entry(method, name string) (Entry, bool) {
	i := slices.IndexFunc(r.Entries, func(e Entry) bool { return e.Method == method && e.Name == name })
	if i < 0 {
		return Entry{}, false
	}
	return r.Entries[i], true
}

// Merge adds runs together, endpoint by endpoint (method and name) and in
// total, as if their requests had been made in one run.
func Merge(runs ...Run) Run {
	var merged Run
	if len(runs) == 0 {
		return merged
	}
	for _, r := range runs {
		merged.Total = merged.Total.add(r.Total)
		for _, e := range r.Entries {
			i := slices.IndexFunc(merged.Entries, func(m Entry) bool { return m.Method == e.Method && m.Name == e.Name })
			if i < 0 {
				merged.Entries = append(merged.Entries, Entry{Name: e.Name, Method: e.Method}.add(e))
				continue
			}
			merged.Entries[i] = merged.Entries[i].add(e)
		}
	}
	merged.Total.Name = runs[0].Total.Name
	return merged
}
