// Package locustapi is a client of a Locust master's web API, the one its
// web UI uses (locust/web.py): start a swarm, stop it, read live stats and
// download the CSV and HTML reports. It works with Locust 2.12 and later.
package locustapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
)

// Runner states, as the master reports them (locust/runners.py).
const (
	StateReady    = "ready"
	StateSpawning = "spawning"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateStopped  = "stopped"
	StateMissing  = "missing"
)

// Client talks to one master.
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a client of the master whose web UI is at baseURL, like
// http://localhost:8089.
func New(baseURL string) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("master URL %q: want http(s)://host:port", baseURL)
	}
	// The jar keeps the web login's session (Login).
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &Client{base: u, http: &http.Client{Jar: jar, CheckRedirect: toLoginPage}}, nil
}

// requestTimeout bounds every request but /stop's.
const requestTimeout = 30 * time.Second

// StopTimeout bounds /stop: the master answers it once its workers have
// stopped their users, waiting for them up to its --stop-timeout plus 60 s
// (MasterRunner.stop: runners.py@2.12.1:899, where a precedence slip makes
// it the stop timeout alone, and @2.46.3:898).
const StopTimeout = 90 * time.Second

// Worker is one worker as the master sees it.
type Worker struct {
	ID        string  `json:"id"`
	State     string  `json:"state"`
	UserCount int     `json:"user_count"`
	CPUUsage  float64 `json:"cpu_usage"`
}

// Stats is the master's /stats/requests: live figures of the current test.
// Its keys changed between Locust versions; Stats reads each figure from
// where the version that answered puts it, and leaves a figure the master
// did not send nil, never zero.
type Stats struct {
	State     string
	UserCount int
	FailRatio float64
	Workers   []Worker
	// Requests and Failures are the run's totals so far, from the total
	// ("Aggregated") entry; Requests is -1 when the master sent no such
	// entry.
	Requests, Failures int
	// CurrentRPS is the current request rate (the last seconds), from the
	// total entry's current_rps. Every version sends it there:
	// web.py@2.12.1:364, stats.py@2.24.0:697 and @2.46.3:703 (to_dict). The
	// top-level total_rps is not used: it was the current rate up to 2.43.3
	// (web.py@2.24.0:415) and is the run's average from 2.43.4
	// (web.py@2.46.3:489).
	CurrentRPS *float64
	// CurrentP95Ms is the p95 of the last seconds' responses, in ms:
	// current_response_time_percentile_95 at 2.12 (web.py@2.12.1:390-392),
	// current_response_time_percentiles["response_time_percentile_0.95"]
	// from 2.22 (web.py@2.24.0:421-426 with the default web UI,
	// web.py@2.46.3:492-497). nil when the master sent neither (a 2.2x
	// master with --legacy-ui, or no samples yet).
	CurrentP95Ms *float64
}

// wireStats is /stats/requests as the master sends it, for every version
// Stats reads.
type wireStats struct {
	State     string   `json:"state"`
	UserCount int      `json:"user_count"`
	FailRatio float64  `json:"fail_ratio"`
	Workers   []Worker `json:"workers"`
	// Entries are per endpoint, the total ("Aggregated") last: web.py chains
	// it after the entries at every version (web.py@2.12.1:353,
	// @2.24.0:396, @2.46.3:478), also when it truncates them.
	Entries []struct {
		Name        string   `json:"name"`
		NumRequests int      `json:"num_requests"`
		NumFailures int      `json:"num_failures"`
		CurrentRPS  *float64 `json:"current_rps"`
	} `json:"stats"`
	P95Ms       *float64            `json:"current_response_time_percentile_95"`
	Percentiles map[string]*float64 `json:"current_response_time_percentiles"`
}

// totalEntry is the name of Locust's total row (stats.py: RequestStats.total).
const totalEntry = "Aggregated"

// UnmarshalJSON reads /stats/requests of any Locust version from 2.12.
func (s *Stats) UnmarshalJSON(b []byte) error {
	var w wireStats
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Stats{State: w.State, UserCount: w.UserCount, FailRatio: w.FailRatio, Workers: w.Workers, Requests: -1}
	if n := len(w.Entries); n > 0 && w.Entries[n-1].Name == totalEntry {
		total := w.Entries[n-1]
		s.Requests, s.Failures, s.CurrentRPS = total.NumRequests, total.NumFailures, total.CurrentRPS
	}
	s.CurrentP95Ms = w.P95Ms
	if p, ok := w.Percentiles["response_time_percentile_0.95"]; ok {
		s.CurrentP95Ms = p
	}
	return nil
}

// ConnectedWorkers counts workers that are not missing.
func (s Stats) ConnectedWorkers() int {
	n := 0
	for _, w := range s.Workers {
		if w.State != StateMissing {
			n++
		}
	}
	return n
}

// StatsCacheTime is how long Locust caches /stats/requests
// (memoize(DEFAULT_CACHE_TIME, dynamic_timeout) in web.py@2.12.1:331,
// @2.24.0:373: 2 s, doubled only when computing it takes longer).
const StatsCacheTime = 2 * time.Second

// Stats reads the live stats. Locust caches this answer (StatsCacheTime),
// so one read soon after a change may predate it; final figures come from
// the CSV or the histograms, which are not cached, or from SettledStats.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	b, err := c.Get(ctx, "/stats/requests")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("master's /stats/requests: %w", err)
	}
	return s, nil
}

// SettledStats reads the stats once every answer Locust may have cached
// before this call has expired: what a test reads after a stop.
func (c *Client) SettledStats(ctx context.Context) (Stats, error) {
	select {
	case <-ctx.Done():
		return Stats{}, ctx.Err()
	case <-time.After(StatsCacheTime + 500*time.Millisecond):
	}
	return c.Stats(ctx)
}

// Swarm is a test to start.
type Swarm struct {
	Users     int
	SpawnRate float64
	// Host overrides the target; empty keeps the master's.
	Host string
	// RunTime makes the master stop the test by itself; 0 runs until Stop.
	RunTime time.Duration
}

// Start resets the stats and starts the swarm (POST /swarm, the web UI's
// form).
func (c *Client) Start(ctx context.Context, s Swarm) error {
	_, err := c.StartSwarm(ctx, s)
	return err
}

// StartSwarm is Start, and returns the target host the swarm runs against:
// the master's answer names it at every version from 2.12
// (web.py@2.12.1:230, @2.24.0:266, @2.46.7:350), whether it is s.Host or
// the master's own --host.
func (c *Client) StartSwarm(ctx context.Context, s Swarm) (host string, err error) {
	if _, err := c.Get(ctx, "/stats/reset"); err != nil {
		return "", err
	}
	form := url.Values{
		"user_count": {strconv.Itoa(s.Users)},
		"spawn_rate": {strconv.FormatFloat(s.SpawnRate, 'f', -1, 64)},
	}
	if s.Host != "" {
		form.Set("host", s.Host)
	}
	if s.RunTime > 0 {
		form.Set("run_time", strconv.Itoa(int(s.RunTime.Round(time.Second)/time.Second))+"s")
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/swarm", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("starting the swarm: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
		Host    string `json:"host"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("starting the swarm: master answered %s", resp.Status)
	}
	if !answer.Success {
		return "", fmt.Errorf("starting the swarm: master said %q", answer.Message)
	}
	return answer.Host, nil
}

// Stop stops the test and returns once the master has; the workers stay
// connected. The master answers /stop when its workers report no users
// left; it says "stopped" when each has sent client_stopped, which the
// component's worker plugin sends after the worker's last samples
// (components/locust_eks_worker.py). Stop waits for that state: only then
// do the master's results hold every request the workers made.
func (c *Client) Stop(ctx context.Context) error {
	stopCtx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	if _, err := c.get(stopCtx, "/stop"); err != nil {
		return err
	}
	return c.WaitStopped(ctx, 30*time.Second)
}

// WaitStopped polls the master until it says "stopped", for at most limit.
func (c *Client) WaitStopped(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		s, err := c.Stats(ctx)
		if err == nil && s.State == StateStopped {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("waiting for the master to stop: %w", err)
			}
			return fmt.Errorf("the master still says %q %s after the stop: its workers have not all reported that they stopped", s.State, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Get fetches a path of the master's web API, such as /stats/requests/csv.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return c.get(ctx, path)
}

// HistogramsPath is where the component's plugin serves the master's
// response-time histograms (HISTOGRAMS_PATH in
// components/locust_eks_worker.py).
const HistogramsPath = "/locust-eks/histograms"

// ErrNoHistograms is returned by Histograms when the master does not serve
// them: its pods do not load the component's plugin.
var ErrNoHistograms = errors.New("the master serves no " + HistogramsPath + " (its pods do not load locust_eks_worker.py, the LocustCluster component's plugin)")

// Histograms reads the exact response-time distribution of the master's
// current stats, per endpoint and in total.
func (c *Client) Histograms(ctx context.Context) (distribution.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var run distribution.Run
	b, status, err := c.getStatus(ctx, HistogramsPath)
	switch {
	case err != nil:
		return run, err
	case status == http.StatusNotFound:
		return run, ErrNoHistograms
	case status != http.StatusOK:
		return run, fmt.Errorf("the Locust master at %s answered %d to %s", c.base, status, HistogramsPath)
	}
	if err := json.Unmarshal(b, &run); err != nil {
		return run, fmt.Errorf("the Locust master's %s: %w", HistogramsPath, err)
	}
	return run, nil
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	b, status, err := c.getStatus(ctx, path)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("the Locust master at %s answered %d %s to %s", c.base, status, http.StatusText(status), path)
	}
	return b, nil
}

func (c *Client) getStatus(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("the Locust master at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return b, resp.StatusCode, nil
}
