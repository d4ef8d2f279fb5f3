package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// simulatedShard is what each shard's simulated workers do in
// TestShardsMergeSimulatedWorkersExactly: each shard's own request rate
// and response times, so that each row's count is its own and the pooled
// percentiles lie where no average of the shards' would.
type simulatedShard struct {
	rps      string // per worker
	rtMedian string // ms; 0: uniform 5-204 ms
	rtSigma  string
}

// TestShardsMergeSimulatedWorkersExactly is issue #30's Scale proof at the
// size CI affords (bench/shards-scale.sh measures it at 1000 workers a
// master): a LocustCluster of 3 shards is rendered, its 3 masters run as
// the component runs them (their rendered command, the worker plugin
// loaded), each loaded by 50 simulated workers of its own (bench/workersim,
// Locust's worker protocol), and cmd/loadtest runs one test across the 3.
// The simulators count what they reported, independently of any master:
//   - the merged request and failure totals are their sums;
//   - each shard's row is its own simulator's count;
//   - the merged p50, p95 and p99 are the pooled requests' percentiles,
//     taken from every response time the simulators drew (before Locust's
//     rounding), to within the one Locust rounding bucket that time falls
//     in: the reports carry rounded times only.
func TestShardsMergeSimulatedWorkersExactly(t *testing.T) {
	t.Parallel()
	locusttest.SkipUnderShort(t)
	workersim := filepath.Join(t.TempDir(), "workersim")
	if out, err := exec.Command("go", "build", "-o", workersim, "../../bench/workersim").CombinedOutput(); err != nil {
		t.Fatalf("building bench/workersim: %v\n%s", err, out)
	}
	const workersPerShard = 50
	shards := []simulatedShard{
		{rps: "10", rtMedian: "0", rtSigma: "1"},
		{rps: "20", rtMedian: "60", rtSigma: "1"},
		{rps: "30", rtMedian: "400", rtSigma: "0.6"},
	}
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		masters := startShardMasters(t, l, len(shards), len(shards)*workersPerShard)
		var sims []*simulator
		for i, sh := range shards {
			sims = append(sims, startSimulator(t, workersim, masters[i].bind, filepath.Join(t.TempDir(), "samples"),
				"--version", l.Version, "--workers", strconv.Itoa(workersPerShard), "--endpoints", "5",
				"--rps", sh.rps, "--rt-median", sh.rtMedian, "--rt-sigma", sh.rtSigma))
		}
		args := []string{"--users", strconv.Itoa(len(shards) * workersPerShard), "--spawn-rate", strconv.Itoa(len(shards) * workersPerShard),
			"--run-time", "9s", "--expect-workers", strconv.Itoa(workersPerShard), "--wait-workers", "90s", "--progress-interval", "3s",
			"--results-dir", t.TempDir(), "--max-fail-ratio", "0.05"}
		for i, m := range masters {
			args = append(args, "--stack", fmt.Sprintf("shard-%d", i), "--master-url", m.webURL)
		}
		code, stdout, stderr := runCommand(context.Background(), nil, args...)
		// The simulators stop after the command: what they reported is then
		// final (a stopped worker reports no more requests).
		var reported, failed int64
		var drawn []float64
		for i, sim := range sims {
			sim.stop(t)
			reported, failed = reported+sim.Requests, failed+sim.Failures
			drawn = append(drawn, sim.samples...)
			if int64(len(sim.samples)) != sim.Requests {
				t.Fatalf("shard %d: the simulator kept %d response times of the %d requests it reported", i, len(sim.samples), sim.Requests)
			}
		}
		if code != exitOK {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if len(s.Stacks) != len(shards) || s.PercentilesFrom != runreport.FromHistogram || s.Workers != len(shards)*workersPerShard || s.StartSkewMs == nil {
			t.Fatalf("summary of %d stack rows, percentiles from %q, %d workers, start skew %v; want %d rows from the histograms, %d workers, a skew",
				len(s.Stacks), s.PercentilesFrom, s.Workers, s.StartSkewMs, len(shards), len(shards)*workersPerShard)
		}
		if total := s.Stats.Total; reported == 0 || int64(total.Requests) != reported || int64(total.Failures) != failed {
			t.Errorf("merged: %d requests, %d failed; the simulators reported %d, %d failed", total.Requests, total.Failures, reported, failed)
		}
		for i, row := range s.Stacks {
			if int64(row.Total.Requests) != sims[i].Requests || int64(row.Total.Failures) != sims[i].Failures {
				t.Errorf("stack %s: its row counts %d requests, %d failed; its simulator reported %d, %d failed",
					row.Stack, row.Total.Requests, row.Total.Failures, sims[i].Requests, sims[i].Failures)
			}
		}
		slices.Sort(drawn)
		averageDiffers := false
		for _, p := range []struct {
			at     float64
			merged float64
			rows   func(runreport.StackRow) float64
		}{
			{0.50, s.Stats.Total.P50Ms, func(r runreport.StackRow) float64 { return r.Total.P50Ms }},
			{0.95, s.Stats.Total.P95Ms, func(r runreport.StackRow) float64 { return r.Total.P95Ms }},
			{0.99, s.Stats.Total.P99Ms, func(r runreport.StackRow) float64 { return r.Total.P99Ms }},
		} {
			// Locust's percentile: the int(n·p)-th of the n sorted times,
			// counting from 0 (calculate_response_time_percentile,
			// locust@2.12.1:locust/stats.py:152-170).
			pooled := drawn[int(float64(len(drawn))*p.at)]
			if want := float64(locustBucket(pooled)); p.merged != want {
				t.Errorf("p%.0f: merged %.0f ms; the pooled requests' is %.3f ms, in Locust's bucket %.0f ms", 100*p.at, p.merged, pooled, want)
			}
			var sum float64
			for _, r := range s.Stacks {
				sum += p.rows(r)
			}
			average := sum / float64(len(s.Stacks))
			averageDiffers = averageDiffers || average != float64(locustBucket(pooled))
			t.Logf("p%.0f: merged %.0f ms; pooled %.3f ms (bucket %d); the shards' %.0f, %.0f, %.0f average %.1f",
				100*p.at, p.merged, pooled, locustBucket(pooled), p.rows(s.Stacks[0]), p.rows(s.Stacks[1]), p.rows(s.Stacks[2]), average)
		}
		if !averageDiffers {
			t.Error("an average of the shards' percentiles equals the pooled ones at p50, p95 and p99: the test cannot tell averaging from merging")
		}
		missing := 0
		for _, m := range masters {
			missing += strings.Count(m.proc.Output(), "setting state to missing")
		}
		t.Logf("Locust %s: %d requests (%d failed) merged from 3 masters of %d simulated workers each, rows %d + %d + %d, as the simulators reported; start skew %.1f ms; workers marked missing %d",
			l.Version, s.Stats.Total.Requests, s.Stats.Total.Failures, workersPerShard, s.Stacks[0].Total.Requests, s.Stacks[1].Total.Requests, s.Stacks[2].Total.Requests, *s.StartSkewMs, missing)
	})
}

// locustBucket is the histogram key Locust files a response time of ms
// under: whole ms below 100, tens below 1000, hundreds below 10000,
// thousands above, each rounded half to even as Python's round does
// (locust@2.12.1:locust/stats.py:394-401 and locust@2.24.0:locust/stats.py:397-404
// in _log_response_time; bucket_response_time, locust@2.46.7:locust/stats.py:124-142).
func locustBucket(ms float64) int64 {
	step := 1.0
	switch {
	case ms >= 10000:
		step = 1000
	case ms >= 1000:
		step = 100
	case ms >= 100:
		step = 10
	}
	return int64(math.RoundToEven(ms/step) * step)
}

// shardMaster is one shard's master, running.
type shardMaster struct {
	bind   int // its worker port
	webURL string
	proc   *locusttest.Process
}

// startShardMasters renders a LocustCluster of shards shards and workers
// workers, and starts every shard's master as rendered (none of its
// workers) on Locust l, shard 0 first.
func startShardMasters(t *testing.T, l *locusttest.Locust, shards, workers int) []shardMaster {
	t.Helper()
	files, err := components.ReadLocustfiles(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	m := &pulumimock.Monitor{}
	var services []string
	err = pulumimock.Run("loadtest-test", "test", nil, nil, m, func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		lc, err := components.NewLocustCluster(ctx, "loadtest", &components.LocustClusterArgs{
			Namespace: "locust", Locustfiles: files, Run: []string{"bookinfo.py"},
			// The simulated workers make no request: nothing listens here.
			TargetHost: pulumi.String("http://target.invalid"), Workers: workers, Shards: shards,
			MasterResources: &components.Resources{CPURequest: "100m", MemoryRequest: "128Mi"},
			WorkerResources: &components.Resources{CPURequest: "100m", MemoryRequest: "128Mi"},
		}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		v, err := pulumimock.Await(ctx.Context(), lc.ShardMasterServiceNames)
		services, _ = v.([]string)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != shards {
		t.Fatalf("%d shard master Services rendered (%v), want %d", len(services), services, shards)
	}
	dir := mountedLocustfiles(t, m)
	var out []shardMaster
	for i, service := range services {
		// A shard's master Deployment has its Service's name.
		c := renderedContainer(t, m, service)
		ports := map[int]int{components.MasterPort: locusttest.FreePort(t), components.WebPort: locusttest.FreePort(t), components.MetricsPort: locusttest.FreePort(t)}
		argv, env, err := locusttest.Localize(c, l, dir, ports, service+".locust.svc")
		if err != nil {
			t.Fatal(err)
		}
		proc := locusttest.Start(t, l, fmt.Sprintf("shard-%d-master", i), append(argv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), env)
		out = append(out, shardMaster{bind: ports[components.MasterPort], webURL: fmt.Sprintf("http://127.0.0.1:%d", ports[components.WebPort]), proc: proc})
	}
	return out
}

// simulator is one bench/workersim process: its simulated workers and,
// once stopped, what it says it reported (its summary line) and the
// response times it drew (--samples).
type simulator struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	samplesPath    string
	exited         chan struct{}
	err            error // the process's, once exited is closed

	Requests int64 `json:"requests"`
	Failures int64 `json:"failures"`
	samples  []float64
}

// startSimulator starts workersim against the master's worker port bind,
// keeping its samples at samplesPath, with the flags given; the test
// stops it at the end if it still runs.
func startSimulator(t *testing.T, workersim string, bind int, samplesPath string, flags ...string) *simulator {
	t.Helper()
	s := &simulator{samplesPath: samplesPath, exited: make(chan struct{})}
	s.cmd = exec.Command(workersim, append([]string{"--master", fmt.Sprintf("127.0.0.1:%d", bind), "--samples", samplesPath}, flags...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// stop interrupts the simulator, as the bench scripts do, and reads its
// summary and samples.
func (s *simulator) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			t.Fatalf("workersim: %v\n%s", s.err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("workersim did not stop within 30 s of its interrupt\n%s", s.stderr.String())
	}
	if err := json.Unmarshal(bytes.TrimSpace(s.stdout.Bytes()), s); err != nil {
		t.Fatalf("workersim's summary %q: %v", s.stdout.String(), err)
	}
	f, err := os.Open(s.samplesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		ms, err := strconv.ParseFloat(lines.Text(), 64)
		if err != nil {
			t.Fatalf("%s: %v", s.samplesPath, err)
		}
		s.samples = append(s.samples, ms)
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
}
