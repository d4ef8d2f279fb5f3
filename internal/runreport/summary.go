// Package runreport turns the results of one Locust run into a verdict: a
// summary read from Locust's own stats CSV, thresholds checked against it,
// changes against a baseline run, and a Markdown report.
package runreport

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Endpoint is one row of Locust's stats CSV: a request name, or the total
// ("Aggregated").
type Endpoint struct {
	Method   string  `json:"method"`
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Failures int     `json:"failures"`
	RPS      float64 `json:"rps"`
	AvgMs    float64 `json:"avgMs"`
	P50Ms    float64 `json:"p50Ms"`
	P95Ms    float64 `json:"p95Ms"`
	P99Ms    float64 `json:"p99Ms"`
	MaxMs    float64 `json:"maxMs"`
	// Samples is how many response times the percentiles were taken
	// from: the histograms' count (requests with a response time), or the
	// CSV's request count, over which Locust before 2.46.2 computes them.
	// A p95 of 20 samples is the slowest one.
	Samples int `json:"samples,omitempty"`
}

// FailRatio is failures over requests, 0 when there were none.
func (e Endpoint) FailRatio() float64 {
	if e.Requests == 0 {
		return 0
	}
	return float64(e.Failures) / float64(e.Requests)
}

// Key names an endpoint across runs: its method and name, or only the name
// when that already starts with the method (name="GET /productpage").
func (e Endpoint) Key() string {
	if e.Method == "" || strings.HasPrefix(e.Name, e.Method+" ") {
		return e.Name
	}
	return e.Method + " " + e.Name
}

// Stats are the endpoints of one run and their total.
type Stats struct {
	Endpoints []Endpoint `json:"endpoints"`
	Total     Endpoint   `json:"total"`
}

// TotalName is the name Locust gives the row of all requests.
const TotalName = "Aggregated"

// ParseStatsCSV reads the CSV of the master's /stats/requests/csv (or
// --csv's _stats.csv): columns as locust/stats.py's StatsCSV writes them.
func ParseStatsCSV(r io.Reader) (Stats, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return Stats{}, fmt.Errorf("reading the stats CSV: %w", err)
	}
	if len(rows) < 2 {
		return Stats{}, fmt.Errorf("the stats CSV has no rows")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"Type", "Name", "Request Count", "Failure Count", "Requests/s", "Average Response Time", "Max Response Time", "50%", "95%", "99%"} {
		if _, ok := col[name]; !ok {
			return Stats{}, fmt.Errorf("the stats CSV has no %q column (it has %v)", name, rows[0])
		}
	}
	number := func(row []string, name string) float64 {
		v, err := strconv.ParseFloat(row[col[name]], 64)
		if err != nil { // "N/A" for an endpoint without requests
			return 0
		}
		return v
	}
	var s Stats
	found := false
	for _, row := range rows[1:] {
		e := Endpoint{
			Method: row[col["Type"]], Name: row[col["Name"]],
			Requests: int(number(row, "Request Count")), Failures: int(number(row, "Failure Count")),
			RPS: number(row, "Requests/s"), AvgMs: number(row, "Average Response Time"), MaxMs: number(row, "Max Response Time"),
			P50Ms: number(row, "50%"), P95Ms: number(row, "95%"), P99Ms: number(row, "99%"),
		}
		e.Samples = e.Requests
		if e.Name == TotalName && e.Method == "" {
			s.Total, found = e, true
			continue
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	if !found {
		return Stats{}, fmt.Errorf("the stats CSV has no %s row", TotalName)
	}
	slices.SortFunc(s.Endpoints, func(a, b Endpoint) int {
		if a.Key() < b.Key() {
			return -1
		}
		return 1
	})
	return s, nil
}
