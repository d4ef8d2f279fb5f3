// Package locustapi is a client of a Locust master's web API, the one its
// web UI uses (locust/web.py): start a swarm, stop it, read live stats and
// download the CSV and HTML reports. It works with Locust 2.12 and later.
package locustapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	return &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Worker is one worker as the master sees it.
type Worker struct {
	ID        string  `json:"id"`
	State     string  `json:"state"`
	UserCount int     `json:"user_count"`
	CPUUsage  float64 `json:"cpu_usage"`
}

// Stats is the master's /stats/requests: live figures of the current test.
type Stats struct {
	State     string   `json:"state"`
	UserCount int      `json:"user_count"`
	TotalRPS  float64  `json:"total_rps"`
	FailRatio float64  `json:"fail_ratio"`
	P95Ms     *float64 `json:"current_response_time_percentile_95"`
	Workers   []Worker `json:"workers"`
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

// Stats reads the live stats.
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
	if _, err := c.Get(ctx, "/stats/reset"); err != nil {
		return err
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/swarm", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("starting the swarm: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("starting the swarm: master answered %s", resp.Status)
	}
	if !answer.Success {
		return fmt.Errorf("starting the swarm: master said %q", answer.Message)
	}
	return nil
}

// Stop stops the test; the workers stay connected.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.Get(ctx, "/stop")
	return err
}

// Get fetches a path of the master's web API, such as /stats/requests/csv.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the Locust master at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the Locust master at %s answered %s to %s", c.base, resp.Status, path)
	}
	return b, nil
}
