package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// probeName is the endpoint the lag probe reports under. One simulated
// worker adds one request of it to each stats report it sends while its
// users run; the n-th such request becoming visible in the master's figures
// dates the n-th report's arrival.
const probeName = "/lag-probe"

// lagProbe measures the stats lag: the time from a worker's report leaving
// it to its figures showing in the master's web API. It reads two views:
//
//   - /stats/requests/csv, which the master renders on each request: how far
//     the master's merging is behind the reports (its message backlog);
//   - /stats/requests, what the web UI and cmd/loadtest read, which the
//     master caches for 2 s (memoize(DEFAULT_CACHE_TIME) on request_stats
//     in locust/web.py at 2.12.1, 2.24.0 and 2.46.3), so it adds up to that.
type lagProbe struct {
	web    string // the master's web UI, http://host:port
	client *http.Client

	mu   sync.Mutex
	sent []time.Time // when each probe request left, in order
	csv  []time.Duration
	json []time.Duration
}

func newLagProbe(web string) *lagProbe {
	return &lagProbe{web: web, client: &http.Client{Timeout: 5 * time.Second}}
}

// sentOne records that a report carrying one more probe request left at t.
func (p *lagProbe) sentOne(t time.Time) {
	p.mu.Lock()
	p.sent = append(p.sent, t)
	p.mu.Unlock()
}

// watch polls both views every 100 ms until ctx ends, dating each probe
// request the first time a view counts it.
func (p *lagProbe) watch(ctx context.Context) {
	seenCSV, seenJSON := 0, 0
	every(ctx, 100*time.Millisecond, func() {
		if n, err := p.csvCount(ctx); err == nil {
			seenCSV = p.date(&p.csv, seenCSV, n)
		}
		if n, err := p.jsonCount(ctx); err == nil {
			seenJSON = p.date(&p.json, seenJSON, n)
		}
	})
}

// date records the lag of probe requests seen+1..n, seen now, and returns
// the new count seen.
func (p *lagProbe) date(lags *[]time.Duration, seen, n int) int {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; seen < n && seen < len(p.sent); seen++ {
		*lags = append(*lags, now.Sub(p.sent[seen]))
	}
	return seen
}

// csvCount reads the probe's request count from /stats/requests/csv, whose
// columns are named in its header row (requests_csv in locust/stats.py:
// "Type","Name","Request Count",...).
func (p *lagProbe) csvCount(ctx context.Context) (int, error) {
	resp, err := p.get(ctx, "/stats/requests/csv")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return 0, fmt.Errorf("reading the stats CSV: %v", err)
	}
	name, count := slices.Index(rows[0], "Name"), slices.Index(rows[0], "Request Count")
	if name < 0 || count < 0 {
		return 0, fmt.Errorf("the stats CSV has no Name or Request Count column: %v", rows[0])
	}
	for _, r := range rows[1:] {
		if len(r) > max(name, count) && r[name] == probeName {
			return strconv.Atoi(r[count])
		}
	}
	return 0, nil
}

// jsonCount reads the probe's request count from /stats/requests (the
// "stats" list of entries with "name" and "num_requests", locust/web.py).
func (p *lagProbe) jsonCount(ctx context.Context) (int, error) {
	resp, err := p.get(ctx, "/stats/requests")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var s struct {
		Stats []struct {
			Name        string `json:"name"`
			NumRequests int    `json:"num_requests"`
		} `json:"stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return 0, err
	}
	for _, e := range s.Stats {
		if e.Name == probeName {
			return e.NumRequests, nil
		}
	}
	return 0, nil
}

func (p *lagProbe) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.web+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp, err
}

// lagSummary is what the probe measured, in milliseconds: the median and
// the largest lag of each view, and how many probe requests it sent and
// saw (a probe never seen is a report the master lost or has not merged).
type lagSummary struct {
	Sent       int     `json:"sent"`
	SeenCSV    int     `json:"seenCsv"`
	SeenJSON   int     `json:"seenJson"`
	CSVMedian  float64 `json:"csvMedianMs"`
	CSVMax     float64 `json:"csvMaxMs"`
	JSONMedian float64 `json:"jsonMedianMs"`
	JSONMax    float64 `json:"jsonMaxMs"`
}

func (p *lagProbe) summary() lagSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := lagSummary{Sent: len(p.sent), SeenCSV: len(p.csv), SeenJSON: len(p.json)}
	s.CSVMedian, s.CSVMax = medianMax(p.csv)
	s.JSONMedian, s.JSONMax = medianMax(p.json)
	return s
}

// medianMax returns the median and the largest of lags in milliseconds,
// or -1 for both when there are none (no figure, not zero).
func medianMax(lags []time.Duration) (float64, float64) {
	if len(lags) == 0 {
		return -1, -1
	}
	s := slices.Clone(lags)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	m := ms(s[len(s)/2])
	if len(s)%2 == 0 {
		m = (ms(s[len(s)/2-1]) + ms(s[len(s)/2])) / 2
	}
	return m, ms(s[len(s)-1])
}
