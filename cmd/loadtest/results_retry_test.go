package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// flakyMaster is a reverse proxy in front of a real master, as a
// port-forward or a load balancer stands between loadtest and the master
// pod. It fails the first failFirst GETs of each path in faulty, the odd
// ones with a 502 and the even ones by resetting the connection; failFirst
// < 0 fails them all with a 502. (Go's Transport itself retries a GET
// whose reused connection was reset: always resetting would make the count
// of GETs depend on its connection reuse.)
type flakyMaster struct {
	proxy     *httputil.ReverseProxy
	faulty    []string
	failFirst int

	mu   sync.Mutex
	gets map[string]int
}

func (f *flakyMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets[r.URL.Path]++
	n := f.gets[r.URL.Path]
	f.mu.Unlock()
	if r.Method != http.MethodGet || !slices.Contains(f.faulty, r.URL.Path) || (f.failFirst >= 0 && n > f.failFirst) {
		f.proxy.ServeHTTP(w, r)
		return
	}
	if n%2 == 1 || f.failFirst < 0 {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0) // close with a RST: "connection reset by peer"
	}
	conn.Close()
}

// getsOf is how many GETs of path reached the proxy.
func (f *flakyMaster) getsOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[path]
}

// TestResultsSurviveAFlakyMaster: collecting a run's results retries what
// fails for a moment (review finding 11), and a file other than stats.csv
// that cannot be had at all is named in the summary, which still gets its
// figures and its verdict.
func TestResultsSurviveAFlakyMaster(t *testing.T) {
	t.Parallel()
	reports := []string{"/stats/requests/csv", "/stats/failures/csv", "/exceptions/csv", "/stats/report", locustapi.HistogramsPath}
	optional := []string{"/stats/failures/csv", "/exceptions/csv", "/stats/report", locustapi.HistogramsPath}
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		for _, tc := range []struct {
			// name is a subtest's, and so a path in Locust's arguments:
			// no comma or space.
			name      string
			faulty    []string
			failFirst int
			// wantGets is how many GETs of each faulty path loadtest makes.
			wantGets    int
			wantMissing []string // files named in summary.json's missing
		}{
			{"transient", reports, 2, 3, nil},
			{"persistent", optional, -1, fetchTries, []string{"exceptions.csv", "failures.csv", "histogram.json", "report.html"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
				master, err := url.Parse(c.webURL)
				if err != nil {
					t.Fatal(err)
				}
				flaky := &flakyMaster{proxy: httputil.NewSingleHostReverseProxy(master), faulty: tc.faulty, failFirst: tc.failFirst, gets: map[string]int{}}
				proxy := httptest.NewServer(flaky)
				defer proxy.Close()
				code, stdout, stderr := runCommand(context.Background(), nil, "--stack", "local", "--master-url", proxy.URL, "--users", "4", "--spawn-rate", "4",
					"--run-time", "4s", "--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", t.TempDir())
				if code != exitOK {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
				}
				for _, path := range tc.faulty {
					if got := flaky.getsOf(path); got != tc.wantGets {
						t.Errorf("%d GETs of %s reached the master's proxy, want %d", got, path, tc.wantGets)
					}
				}
				dir := resultDir(t, stdout)
				s := readSummary(t, dir)
				if s.Verdict != runreport.VerdictPass {
					t.Errorf("verdict %q, want %q", s.Verdict, runreport.VerdictPass)
				}
				if served := c.target.Total(); s.Stats.Total.Requests != served || served == 0 {
					t.Errorf("summary.json counts %d requests, the target answered %d", s.Stats.Total.Requests, served)
				}
				var missing []string
				for _, m := range s.Missing {
					name, _, _ := strings.Cut(m, ":")
					missing = append(missing, name)
				}
				if slices.Sort(missing); !slices.Equal(missing, tc.wantMissing) {
					t.Errorf("summary.json missing %q, want the files %q", s.Missing, tc.wantMissing)
				}
				for _, name := range []string{"stats.csv", "failures.csv", "exceptions.csv", "report.html", "histogram.json"} {
					_, err := os.Stat(filepath.Join(dir, name))
					if saved, want := err == nil, !slices.Contains(tc.wantMissing, name); saved != want {
						t.Errorf("%s saved: %v, want %v", name, saved, want)
					}
				}
				wantFrom := runreport.FromHistogram
				if tc.wantMissing != nil {
					wantFrom = runreport.FromCSV
				}
				if s.PercentilesFrom != wantFrom {
					t.Errorf("percentiles from %q, want %q", s.PercentilesFrom, wantFrom)
				}
				md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range s.Missing {
					if !strings.Contains(string(md), m) {
						t.Errorf("summary.md does not say %q", m)
					}
				}
				t.Logf("Locust %s, %s: %d requests, verdict %s, missing %q", l.Version, tc.name, s.Stats.Total.Requests, s.Verdict, missing)
			})
		}
	})
}
