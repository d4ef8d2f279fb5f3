package main

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/distribution"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

func TestSplitUsers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		users  int
		shares []float64
		want   []int
	}{
		{"equal shares by default", 10, []float64{0, 0}, []int{5, 5}},
		{"an odd user goes to the stack named first", 11, []float64{0, 0}, []int{6, 5}},
		{"60/40 of 100", 100, []float64{60, 40}, []int{60, 40}},
		{"60/40 of 10: 1 each, then 4.8 and 3.2 of the other 8", 10, []float64{60, 40}, []int{6, 4}},
		{"the largest remainder gets the user left over", 10, []float64{1, 1, 1}, []int{4, 3, 3}},
		{"a tiny share still runs 1 user", 3, []float64{98, 1, 1}, []int{1, 1, 1}},
		{"a tiny share of many users", 100, []float64{98, 1, 1}, []int{96, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitUsers(tc.users, tc.shares)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("splitUsers(%d, %v) = %v, %v; want %v", tc.users, tc.shares, got, err, tc.want)
			}
		})
	}
	if _, err := splitUsers(1, []float64{0, 0}); err == nil || !strings.Contains(err.Error(), "at least 1 user") {
		t.Errorf("1 user for 2 stacks: %v", err)
	}
}

func TestSeveralStacksFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the error; "" for none
	}{
		{"shares for every stack", []string{"--stack", "a=60", "--stack", "b=40"}, ""},
		{"a share for one stack only", []string{"--stack", "a=60", "--stack", "b"}, "give every stack a share"},
		{"a share that is no number", []string{"--stack", "a=most", "--stack", "b"}, "must be a number above 0"},
		{"a share with one stack", []string{"--stack", "a=60"}, "needs several stacks"},
		{"a stack twice", []string{"--stack", "a", "--stack", "a"}, "given twice"},
		{"fewer master URLs than stacks", []string{"--stack", "a", "--stack", "b", "--master-url", "http://127.0.0.1:1"}, "give one per stack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args)
			if tc.want == "" && (err != nil || o.stack != "a+b") {
				t.Errorf("stack %q, error %v; want a+b", o.stack, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v; want %q", err, tc.want)
			}
		})
	}
}

// pooledPercentile is the response time of the requests in hs pooled at
// which the fraction p of them had answered, as Locust takes it: the
// int(n·p)-th of the n sorted response times, counting from 0. It lists
// every request's time rather than adding histograms: the test's own
// count, independent of distribution.Merge and Histogram.Percentile.
func pooledPercentile(hs []distribution.Histogram, p float64) float64 {
	var times []int64
	for _, h := range hs {
		for ms, n := range h {
			for range n {
				times = append(times, ms)
			}
		}
	}
	slices.Sort(times)
	return float64(times[int(float64(len(times))*p)])
}

// TestSeveralStacksMergeExactly: two masters with two real workers each,
// one loading a fast target and the other a slow one, run as one test.
// The merged count is what the targets served, the merged percentiles are
// the pooled response times' as the workers measured them (the masters'
// histograms, listed request by request here), an average of the two
// masters' percentiles is not, and the start skew is recorded.
func TestSeveralStacksMergeExactly(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		fast := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: time.Millisecond}
		slow := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: 150 * time.Millisecond, Jitter: 100 * time.Millisecond}
		east, west := startCluster(t, l, fast, 2), startCluster(t, l, slow, 2)
		code, stdout, stderr := runCommand(context.Background(), nil, "--stack", "east", "--stack", "west",
			"--master-url", east.webURL, "--master-url", west.webURL, "--users", "8", "--spawn-rate", "8", "--run-time", "5s",
			"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir(), "--max-fail-ratio", "0")
		if code != exitOK {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, want := range []string{"progress: east users", "progress: west users", "progress: all ", "start skew: "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		s := readSummary(t, resultDir(t, stdout))
		if s.Stack != "east+west" || len(s.Stacks) != 2 || s.PercentilesFrom != runreport.FromHistogram || s.Workers != 4 {
			t.Fatalf("summary of stack %q, %d stack rows, percentiles from %q, %d workers", s.Stack, len(s.Stacks), s.PercentilesFrom, s.Workers)
		}
		if served := east.target.Total() + west.target.Total(); s.Stats.Total.Requests == 0 || s.Stats.Total.Requests != served {
			t.Errorf("the targets served %d requests, the merged result counts %d", served, s.Stats.Total.Requests)
		}

		// What each master's workers measured, read from the masters
		// themselves: they keep the run's stats until the next start.
		var totals []distribution.Histogram
		for i, c := range []cluster{east, west} {
			master, err := locustapi.New(c.webURL)
			if err != nil {
				t.Fatal(err)
			}
			d, err := master.Histograms(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			totals = append(totals, d.Total.ResponseTimes)
			if row := s.Stacks[i]; int64(row.Total.Requests) != d.Total.Requests || row.Total.Requests != c.target.Total() || row.Users != 4 {
				t.Errorf("stack %s: its row counts %d requests for %d users; its master %d, its target served %d", row.Stack, row.Total.Requests, row.Users, d.Total.Requests, c.target.Total())
			}
		}
		rows := s.Stacks
		for _, p := range []struct {
			at         float64
			merged     float64
			east, west float64
			mustDiffer bool
		}{
			{0.50, s.Stats.Total.P50Ms, rows[0].Total.P50Ms, rows[1].Total.P50Ms, true},
			{0.95, s.Stats.Total.P95Ms, rows[0].Total.P95Ms, rows[1].Total.P95Ms, false},
			{0.99, s.Stats.Total.P99Ms, rows[0].Total.P99Ms, rows[1].Total.P99Ms, false},
		} {
			pooled := pooledPercentile(totals, p.at)
			if p.merged != pooled {
				t.Errorf("p%.0f: merged %.0f ms, the pooled requests' %.0f ms", 100*p.at, p.merged, pooled)
			}
			// Averaging would fail the same check: the pooled p50 is one of the
			// fast target's times or one of the slow one's, never between.
			average := (p.east + p.west) / 2
			if p.mustDiffer && average == pooled {
				t.Errorf("p%.0f: the average of the stacks' %.0f and %.0f ms is the pooled %.0f ms: the test cannot tell averaging from merging", 100*p.at, p.east, p.west, pooled)
			}
			t.Logf("p%.0f: merged %.0f ms = pooled %.0f ms; east %.0f, west %.0f, their average %.1f", 100*p.at, p.merged, pooled, p.east, p.west, average)
		}

		// The start skew: recorded as the spread of the rows' /swarm answers,
		// under 1 s, as is the spread of the first requests the targets saw.
		answered := []float64{rows[0].SwarmAnsweredMs, rows[1].SwarmAnsweredMs}
		if s.StartSkewMs == nil {
			t.Fatal("summary.json records no start skew")
		}
		if *s.StartSkewMs != slices.Max(answered)-slices.Min(answered) || *s.StartSkewMs >= 1000 {
			t.Errorf("start skew %.3f ms; the rows' answers at %v ms", *s.StartSkewMs, answered)
		}
		firsts := fast.First().Sub(slow.First())
		if math.Abs(firsts.Seconds()) >= 1 {
			t.Errorf("the targets' first requests came %s apart", firsts)
		}
		t.Logf("Locust %s: %d requests merged (%d + %d), start skew %.1f ms, first requests %s apart",
			l.Version, s.Stats.Total.Requests, rows[0].Total.Requests, rows[1].Total.Requests, *s.StartSkewMs, firsts)
		// What the command printed: docs/several-stacks.md quotes it.
		t.Logf("the command's output:\n%s", stdout)
	})
}

// TestSeveralStacksOneFails: a master killed mid-run (SIGKILL), or all
// of a master's workers killed, makes the run incomplete: the other stack
// is stopped, the summary names the stack that failed and when, and the
// run neither passes nor becomes a baseline.
func TestSeveralStacksOneFails(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		for _, tc := range []struct {
			name string
			kill func(c cluster)
			want string
		}{
			{"master killed", func(c cluster) { c.master.Cmd.Process.Kill() }, "did not answer"},
			{"workers killed", func(c cluster) {
				for _, w := range c.workers {
					w.Cmd.Process.Kill()
				}
			}, "its master "},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				stackFails(t, l, tc.kill, tc.want)
			})
		}
	})
}

// stackFails runs a test across two stacks, east and west, kills west's
// processes with kill once west has counted requests, and checks that the
// run is interrupted naming west with a failure that says want.
func stackFails(t *testing.T, l *locusttest.Locust, kill func(c cluster), want string) {
	east, west := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2), startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := make(chan time.Time, 1)
	go func() {
		defer close(killed)
		master, _ := locustapi.New(west.webURL)
		locusttest.WaitFor(t, time.Now().Add(60*time.Second), "requests in west's stats", func() bool {
			s, err := master.Stats(context.Background())
			return ctx.Err() != nil || (err == nil && s.Requests > 0)
		})
		if ctx.Err() == nil {
			kill(west)
			killed <- time.Now()
		}
	}()
	code, stdout, stderr := runCommand(ctx, nil, "--stack", "east", "--stack", "west",
		"--master-url", east.webURL, "--master-url", west.webURL, "--users", "4", "--spawn-rate", "4", "--run-time", "60s",
		"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir())
	cancel()
	at, ok := <-killed
	if !ok {
		t.Fatalf("the command ended before west was killed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code != exitInterrupted || !strings.Contains(stdout, "stack west failed at ") {
		t.Fatalf("exit %d, want %d naming west\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout, stderr)
	}
	s := readSummary(t, resultDir(t, stdout))
	failedAt, err := time.Parse(time.RFC3339, s.Stacks[1].FailedAt)
	if s.Verdict != runreport.VerdictInterrupted || s.Stacks[0].Failed != "" || !strings.Contains(s.Stacks[1].Failed, want) ||
		err != nil || failedAt.Before(at.Truncate(time.Second)) {
		t.Errorf("verdict %s; east failed %q; west failed %q at %q (killed at %s)", s.Verdict, s.Stacks[0].Failed, s.Stacks[1].Failed, s.Stacks[1].FailedAt, at.UTC().Format(time.RFC3339))
	}
	if s.Stacks[0].Total.Requests == 0 || s.Stats.Total.Requests < s.Stacks[0].Total.Requests {
		t.Errorf("merged %d requests; east's row %d: an incomplete run holds the stacks that answered", s.Stats.Total.Requests, s.Stacks[0].Total.Requests)
	}
	// East's swarm was stopped: no more load reaches its target.
	before := east.target.Total()
	time.Sleep(2 * time.Second)
	if after := east.target.Total(); after != before {
		t.Errorf("east's target still gets requests after the run: %d -> %d", before, after)
	}
	t.Logf("Locust %s: west killed at %s, failed at %s: %s", l.Version, at.UTC().Format(time.RFC3339), s.Stacks[1].FailedAt, s.Stacks[1].Failed)
}

// slowResults is a master's web API behind a link on which each of the
// run's result files takes delay, as through a kubectl port-forward to a
// cluster a region away, and which keeps when its result GETs began and
// ended.
type slowResults struct {
	proxy http.Handler
	delay time.Duration

	mu         sync.Mutex
	first, end time.Time
}

// window is when the result GETs began and ended.
func (s *slowResults) window() (first, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.end
}

func (s *slowResults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	result := r.URL.Path == locustapi.HistogramsPath
	for _, p := range resultFiles {
		result = result || r.URL.Path == p
	}
	if !result {
		s.proxy.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
	time.Sleep(s.delay)
	s.proxy.ServeHTTP(w, r)
	s.mu.Lock()
	s.end = time.Now()
	s.mu.Unlock()
}

// TestSeveralStacksInterrupted: a cancel (the SIGINT a cancelled GitHub
// step gets, 10 s before its SIGKILL: actions/runner
// src/Runner.Sdk/ProcessInvoker.cs) saves every stack's results, the
// stacks' downloads at once, not one after another: each master's result
// files arrive 300 ms apart, and the two stacks' downloads overlap. The
// time from the cancel to the results saved is logged (docs/several-stacks.md
// quotes it).
func TestSeveralStacksInterrupted(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		var links []*slowResults
		var urls []string
		var clusters []cluster
		for range 2 {
			c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
			u, err := url.Parse(c.webURL)
			if err != nil {
				t.Fatal(err)
			}
			link := &slowResults{proxy: httputil.NewSingleHostReverseProxy(u), delay: 300 * time.Millisecond}
			srv := httptest.NewServer(link)
			t.Cleanup(srv.Close)
			links, urls, clusters = append(links, link), append(urls, srv.URL), append(clusters, c)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancelled := make(chan time.Time, 1)
		go func() {
			defer close(cancelled)
			locusttest.WaitFor(t, time.Now().Add(60*time.Second), "requests in both stacks' stats", func() bool {
				for _, c := range clusters {
					master, _ := locustapi.New(c.webURL)
					if s, err := master.Stats(context.Background()); ctx.Err() == nil && (err != nil || s.Requests == 0) {
						return false
					}
				}
				return true
			})
			if ctx.Err() == nil {
				cancelled <- time.Now()
				cancel()
			}
		}()
		code, stdout, stderr := runCommand(ctx, nil, "--stack", "east", "--stack", "west",
			"--master-url", urls[0], "--master-url", urls[1], "--users", "4", "--spawn-rate", "4", "--run-time", "60s",
			"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir())
		saved := time.Now()
		at, ok := <-cancelled
		if !ok {
			t.Fatalf("the command ended before the cancel: exit %d\n%s\n%s", code, stdout, stderr)
		}
		if code != exitInterrupted {
			t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if s.Verdict != runreport.VerdictInterrupted || len(s.Stacks) != 2 || s.PercentilesFrom != runreport.FromHistogram {
			t.Fatalf("verdict %s, %d stack rows, percentiles from %q", s.Verdict, len(s.Stacks), s.PercentilesFrom)
		}
		for i, c := range clusters {
			if row := s.Stacks[i]; row.Failed != "" || row.Total.Requests == 0 || row.Total.Requests != c.target.Total() {
				t.Errorf("stack %s: failed %q, its row counts %d requests, its target served %d", row.Stack, row.Failed, row.Total.Requests, c.target.Total())
			}
		}
		if sum := s.Stacks[0].Total.Requests + s.Stacks[1].Total.Requests; s.Stats.Total.Requests != sum {
			t.Errorf("merged %d requests, the rows %d", s.Stats.Total.Requests, sum)
		}
		eastFirst, eastEnd := links[0].window()
		westFirst, westEnd := links[1].window()
		if eastFirst.IsZero() || westFirst.IsZero() || !westFirst.Before(eastEnd) || !eastFirst.Before(westEnd) {
			t.Errorf("the stacks' downloads did not overlap: east %s to %s, west %s to %s",
				eastFirst.Format(time.StampMilli), eastEnd.Format(time.StampMilli), westFirst.Format(time.StampMilli), westEnd.Format(time.StampMilli))
		}
		if took := saved.Sub(at); took >= 10*time.Second {
			t.Errorf("the results were saved %s after the cancel: a cancelled GitHub step is killed at 10 s", took.Round(time.Millisecond))
		}
		t.Logf("Locust %s: cancel to results saved for 2 stacks, each result file 300 ms away: %s (downloads: east %s, west %s)",
			l.Version, saved.Sub(at).Round(time.Millisecond), eastEnd.Sub(eastFirst).Round(time.Millisecond), westEnd.Sub(westFirst).Round(time.Millisecond))
	})
}
