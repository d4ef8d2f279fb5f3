package locustapi

import (
	"encoding/json"
	"testing"
)

// Each payload is /stats/requests as the web.py of that Locust tag builds it
// (request_stats), cut to the keys Stats reads and one endpoint. The real
// answers of 2.12.1 and 2.24.0 are read in the command's tests against real
// masters; 2.46.3 (the image) cannot run here, so its shape is only this,
// from web.py@2.46.3:451-517 and stats.py@2.46.3:690-711.
func TestStatsReadsEachVersion(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		version, payload string
		rps, p95         *float64
		requests         int
	}{
		{
			// web.py@2.12.1:332-415: entries built inline, the current p95
			// under its own key, total_rps the total entry's current_rps.
			"2.12.1", `{"stats":[
				{"method":"GET","name":"/a","num_requests":90,"num_failures":1,"current_rps":8.0},
				{"method":"","name":"Aggregated","num_requests":90,"num_failures":1,"current_rps":8.0}],
				"errors":[],"total_rps":8.0,"fail_ratio":0.011,
				"current_response_time_percentile_95":420,"current_response_time_percentile_50":110,
				"workers":[{"id":"w1","state":"running","user_count":5,"cpu_usage":3}],"state":"running","user_count":5}`,
			f(8), f(420), 90,
		},
		{
			// web.py@2.24.0:374-457 with the default (modern) web UI:
			// percentiles in a map keyed by MODERN_UI_PERCENTILES_TO_CHART
			// (stats.py@2.24.0:131).
			"2.24.0", `{"stats":[
				{"method":"GET","name":"/a","num_requests":90,"num_failures":0,"current_rps":7.5,"response_time_percentile_0.95":500},
				{"method":"","name":"Aggregated","num_requests":90,"num_failures":0,"current_rps":7.5,"response_time_percentile_0.95":500}],
				"errors":[],"total_rps":7.5,"total_fail_per_sec":0,"total_avg_response_time":120,"fail_ratio":0,
				"current_response_time_percentiles":{"response_time_percentile_0.95":430},
				"workers":[],"state":"running","user_count":5}`,
			f(7.5), f(430), 90,
		},
		{
			// web.py@2.24.0:427-437 with --legacy-ui: only _1 and _2, whose
			// percentiles the master does not name. Not read as a p95.
			"2.24.0 --legacy-ui", `{"stats":[
				{"method":"","name":"Aggregated","num_requests":3,"num_failures":0,"current_rps":1.0}],
				"total_rps":1.0,"fail_ratio":0,"current_response_time_percentile_1":100,"current_response_time_percentile_2":400,
				"state":"running","user_count":1}`,
			f(1), nil, 3,
		},
		{
			// web.py@2.46.3:484-497: total_rps is the run's average, the
			// current rate is current_rps (top level since 2.45.0).
			"2.46.3", `{"stats":[
				{"method":"GET","name":"/a","num_requests":900,"num_failures":0,"current_rps":30.0,"total_rps":12.0},
				{"method":"","name":"Aggregated","num_requests":900,"num_failures":0,"current_rps":30.0,"total_rps":12.0}],
				"errors":[],"current_rps":30.0,"current_fail_per_sec":0,"total_rps":12.0,"total_fail_per_sec":0,"fail_ratio":0,
				"current_response_time_percentiles":{"response_time_percentile_0.5":90,"response_time_percentile_0.95":250},
				"workers":[],"worker_count":0,"state":"running","user_count":50}`,
			f(30), f(250), 900,
		},
		{
			// web.py@2.46.3:456-470: no runner yet; no entries, no figures.
			"2.46.3 before a runner", `{"stats":[],"errors":[],"total_rps":0.0,"total_fail_per_sec":0.0,"fail_ratio":0.0,
				"current_response_time_percentile_1":null,"current_response_time_percentile_2":null,"state":"missing","user_count":0}`,
			nil, nil, -1,
		},
	} {
		t.Run(tc.version, func(t *testing.T) {
			var s Stats
			if err := json.Unmarshal([]byte(tc.payload), &s); err != nil {
				t.Fatal(err)
			}
			same := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
			if !same(s.CurrentRPS, tc.rps) || !same(s.CurrentP95Ms, tc.p95) || s.Requests != tc.requests {
				t.Errorf("rps %v, p95 %v, requests %d; want %v, %v, %d", show(s.CurrentRPS), show(s.CurrentP95Ms), s.Requests, show(tc.rps), show(tc.p95), tc.requests)
			}
		})
	}
}

func show(v *float64) any {
	if v == nil {
		return "missing"
	}
	return *v
}
