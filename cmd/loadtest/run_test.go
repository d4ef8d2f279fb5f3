package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// These tests run the command against a real Locust master (with its web
// UI, not headless) and two real workers, started from the containers the
// LocustCluster renders, loading a fake Bookinfo built from its source.

func TestMain(m *testing.M) {
	code := m.Run()
	locusttest.Cleanup()
	os.Exit(code)
}

const locustfileDir = "../../locustfiles"

// cluster is a running master and its workers.
type cluster struct {
	webURL string
	// metricsURL is the master's metrics port, plain HTTP always.
	metricsURL string
	master     *locusttest.Process
	workers    []*locusttest.Process
	target     *fakeapps.Recorder
}

// startCluster renders a LocustCluster with two workers, and starts its
// master and start of the workers locally on Locust l.
func startCluster(t *testing.T, l *locusttest.Locust, app http.Handler, start int) cluster {
	t.Helper()
	return startClusterWith(t, l, app, start, nil)
}

// startClusterWith is startCluster with the master's web UI behind login,
// when login is not nil; the password reaches the master as the kubelet
// would give it, from the rendered Secret.
func startClusterWith(t *testing.T, l *locusttest.Locust, app http.Handler, start int, login *components.WebLogin, more ...func(*components.LocustClusterArgs)) cluster {
	t.Helper()
	rec := fakeapps.Record(app)
	target := httptest.NewServer(rec)
	t.Cleanup(target.Close)

	files, err := components.ReadLocustfiles(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	m := &pulumimock.Monitor{}
	var masterAddress string
	err = pulumimock.Run("loadtest-test", "test", nil, nil, m, func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		args := &components.LocustClusterArgs{
			Namespace: "locust", Locustfiles: files, Run: []string{"bookinfo.py"},
			TargetHost: pulumi.String(target.URL), Workers: 2,
			MasterResources: &components.Resources{CPURequest: "100m", MemoryRequest: "128Mi"},
			WorkerResources: &components.Resources{CPURequest: "100m", MemoryRequest: "128Mi"},
		}
		if login != nil {
			args.WebLogin, args.Image = login, "locustio/locust:"+l.Version
		}
		for _, f := range more {
			f(args)
		}
		lc, err := components.NewLocustCluster(ctx, "loadtest", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		v, err := pulumimock.Await(ctx.Context(), lc.MasterAddress)
		masterAddress, _ = v.(string)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	container := func(name string) k8sobject.Container { return renderedContainer(t, m, name) }
	dir := mountedLocustfiles(t, m)
	web := locusttest.FreePort(t)
	ports := map[int]int{components.MasterPort: locusttest.FreePort(t), components.WebPort: web, components.MetricsPort: locusttest.FreePort(t)}
	masterArgv, masterEnv, err := locusttest.Localize(container("loadtest-master"), l, dir, ports, masterAddress)
	if err != nil {
		t.Fatal(err)
	}
	workerArgv, workerEnv, err := locusttest.Localize(container("loadtest-worker"), l, dir, ports, masterAddress)
	if err != nil {
		t.Fatal(err)
	}
	if login != nil {
		secret, ok := m.Get("kubernetes:core/v1:Secret", "loadtest-web-login")
		if !ok {
			t.Fatal("no web login Secret rendered")
		}
		password := secret.Inputs["stringData"].SecretValue().Element.ObjectValue()["password"].StringValue()
		for i, e := range masterEnv {
			if e == "LOCUST_EKS_WEB_PASSWORD=" {
				masterEnv[i] += password
			}
		}
	}
	scheme := "http"
	if secret, ok := m.Get("kubernetes:core/v1:Secret", "loadtest-web-tls"); ok {
		// The kubelet mounts the TLS Secret's keys as files, as here.
		tlsDir := t.TempDir()
		data := secret.Inputs["stringData"].SecretValue().Element.ObjectValue()
		for key, value := range map[string]string{"tls.crt": data["tls.crt"].StringValue(), "tls.key": data["tls.key"].StringValue()} {
			if err := os.WriteFile(filepath.Join(tlsDir, key), []byte(value), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for i, a := range masterArgv {
			masterArgv[i] = strings.ReplaceAll(a, "/mnt/locust-eks-tls/", tlsDir+"/")
		}
		scheme = "https"
	}
	c := cluster{webURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, web), metricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[components.MetricsPort]), target: rec}
	c.master = locusttest.Start(t, l, "master", append(masterArgv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), masterEnv)
	for i := range start {
		c.workers = append(c.workers, locusttest.Start(t, l, fmt.Sprintf("worker-%d", i+1), workerArgv, workerEnv))
	}
	return c
}

// runCommand runs the command in-process, as main would, with env as its
// environment (nil: an empty one). Each call has its own: the tests run in
// parallel.
func runCommand(ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncBuffer
	// These tests give every figure as a flag; no stack outputs.
	code = run(ctx, append([]string{"--stack-outputs=false"}, args...), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// runSubcommand runs `loadtest <args>` for a subcommand (history, compare),
// which reads no stack outputs, in an empty environment.
func runSubcommand(args ...string) (code int, stdout, stderr string) {
	var out, errOut syncBuffer
	code = run(context.Background(), args, &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func readSummary(t *testing.T, dir string) runreport.Summary {
	t.Helper()
	var s runreport.Summary
	readJSON(t, filepath.Join(dir, "summary.json"), &s)
	return s
}

// readJSON decodes the JSON file at path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// resultDir is the folder the command said it wrote.
func resultDir(t *testing.T, stdout string) string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if dir, ok := strings.CutPrefix(line, "results: "); ok {
			return dir
		}
	}
	t.Fatalf("the command named no results folder:\n%s", stdout)
	return ""
}

func TestRunPassesAndComparesWithTheLastRun(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
		results := t.TempDir()
		// In GitHub Actions the Markdown summary goes to the job summary too.
		jobSummary := filepath.Join(t.TempDir(), "step-summary.md")
		env := map[string]string{"GITHUB_STEP_SUMMARY": jobSummary}
		args := []string{"--stack", "local", "--master-url", c.webURL, "--users", "4", "--spawn-rate", "4", "--image", "locustio/locust:2.46.3",
			"--run-time", "4s", "--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s",
			"--results-dir", results, "--max-fail-ratio", "0", "--min-rps", "0.1"}
		code, stdout, stderr := runCommand(context.Background(), env, args...)
		if code != exitOK {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, want := range []string{"waiting up to 1m0s for 2 workers", "progress: ", "workers 2", "verdict: PASS"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		dir := resultDir(t, stdout)
		for _, f := range []string{"stats.csv", "failures.csv", "exceptions.csv", "report.html", "histogram.json", "summary.json", "summary.md"} {
			if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
				t.Errorf("%s missing or empty: %v", f, err)
			}
		}
		s := readSummary(t, dir)
		if js, _ := os.ReadFile(jobSummary); !strings.Contains(string(js), "## Load test local: PASS") || s.Locust != "2.46.3" || s.Image != "locustio/locust:2.46.3" {
			t.Errorf("job summary %q, Locust %q, image %q", js, s.Locust, s.Image)
		}
		csvFile, _ := os.Open(filepath.Join(dir, "stats.csv"))
		fromCSV, err := runreport.ParseStatsCSV(csvFile)
		csvFile.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s.Stats.Total != fromCSV.Total || s.Stats.Total.Requests == 0 || s.Verdict != "pass" || s.Workers != 2 {
			t.Errorf("summary %+v; the CSV says %+v", s.Stats.Total, fromCSV.Total)
		}
		if hits := c.target.Hits()["GET /productpage"]; hits < s.Stats.Total.Requests {
			t.Errorf("the target saw %d requests, the summary says %d", hits, s.Stats.Total.Requests)
		}
		if html, _ := os.ReadFile(filepath.Join(dir, "report.html")); !strings.Contains(string(html), "<html") {
			t.Error("report.html is no HTML report")
		}

		// A second run compares with the first and fails a threshold it cannot
		// meet, naming it.
		time.Sleep(1100 * time.Millisecond) // a new results folder name
		code, stdout, _ = runCommand(context.Background(), env, append(args[:len(args)-4], "--min-rps", "1000000")...)
		stdout0 := stdout
		if code != exitBreached || !strings.Contains(stdout, "min rps of all requests") || !strings.Contains(stdout, "vs "+dir) {
			t.Errorf("exit %d, want %d naming min rps and comparing with %s:\n%s", code, exitBreached, dir, stdout)
		}
		second := readSummary(t, resultDir(t, stdout))
		if second.Baseline != dir || len(second.Changes) == 0 || second.Verdict != "fail" {
			t.Errorf("second summary: baseline %q, %d changes, verdict %s", second.Baseline, len(second.Changes), second.Verdict)
		}
		if md, _ := os.ReadFile(filepath.Join(resultDir(t, stdout), "summary.md")); !strings.Contains(string(md), "Thresholds breached") || !strings.Contains(string(md), "| GET /productpage |") {
			t.Errorf("summary.md:\n%s", md)
		}

		// The stack's history: both runs in a table, and their trend drawn.
		code, stdout, stderr = runSubcommand("history", "--stack", "local", "--results-dir", results)
		if code != exitOK {
			t.Fatalf("history: exit %d\n%s\n%s", code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 4 || !strings.Contains(lines[1], " pass") || !strings.Contains(lines[2], " fail") || !strings.Contains(lines[3], "trend: ") {
			t.Errorf("history output:\n%s", stdout)
		}
		svg, err := os.ReadFile(filepath.Join(results, "local", "trend.svg"))
		if err != nil || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "failed its thresholds") {
			t.Errorf("trend.svg: %v\n%.300s", err, svg)
		}
		code, stdout, _ = runSubcommand("compare", dir, resultDir(t, stdout0))
		if code != exitOK || !strings.Contains(stdout, "GET /productpage") || !strings.Contains(stdout, "p95 ms") {
			t.Errorf("compare: exit %d\n%s", code, stdout)
		}
	})
}

func TestInterruptStopsTheSwarmAndKeepsPartialResults(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 2)
		ctx, cancel := context.WithCancel(context.Background())
		// The interrupt is waited for before the test ends: a goroutine that
		// fails a finished test panics the whole package.
		interrupter := make(chan struct{})
		go func() {
			defer close(interrupter)
			// What SIGTERM does to main's context, once the workers have reported
			// load to the master (every 3 s).
			master, _ := locustapi.New(c.webURL)
			locusttest.WaitFor(t, time.Now().Add(60*time.Second), "requests in the master's stats", func() bool {
				if ctx.Err() != nil {
					return true // the command ended first: the checks below say how
				}
				b, err := master.Get(context.Background(), "/stats/requests/csv")
				if err != nil {
					return false
				}
				s, err := runreport.ParseStatsCSV(bytes.NewReader(b))
				return err == nil && s.Total.Requests > 0
			})
			cancel()
		}()
		code, stdout, stderr := runCommand(ctx, nil, "--stack", "local", "--master-url", c.webURL, "--users", "4", "--spawn-rate", "4",
			"--run-time", "60s", "--expect-workers", "2", "--progress-interval", "1s", "--results-dir", t.TempDir())
		cancel()
		<-interrupter
		if code != exitInterrupted || !strings.Contains(stdout, "the swarm is stopped") {
			t.Fatalf("exit %d, want %d with the swarm stopped:\n%s\n%s", code, exitInterrupted, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if !s.Interrupted || s.Verdict != "interrupted" || s.Stats.Total.Requests == 0 {
			t.Errorf("summary of an interrupted run: %+v", s)
		}
		// The master stopped the users: no more load reaches the target.
		time.Sleep(2 * time.Second)
		before := c.target.Total()
		time.Sleep(2 * time.Second)
		if after := c.target.Total(); after != before {
			t.Errorf("the target still gets requests after the interrupt: %d -> %d", before, after)
		}
	})
}

func TestCouldNotRun(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		c := startCluster(t, l, &fakeapps.BookinfoProductPage{}, 1)
		// "missing workers" gives the command 8 s to see 1 of 2 workers: the
		// master and its one worker must be up first, which takes longer
		// than that on a loaded machine.
		master, err := locustapi.New(c.webURL)
		if err != nil {
			t.Fatal(err)
		}
		locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the master with its one worker", func() bool {
			s, err := master.Stats(context.Background())
			return err == nil && s.ConnectedWorkers() == 1
		})
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"unreachable master", []string{"--stack", "local", "--master-url", fmt.Sprintf("http://127.0.0.1:%d", locusttest.FreePort(t)), "--wait-workers", "2s"}, "could not reach the Locust master"},
			{"missing workers", []string{"--stack", "local", "--master-url", c.webURL, "--expect-workers", "2", "--wait-workers", "8s"}, "only 1 of 2 workers connected"},
			{"no master URL and no outputs", []string{"--stack", "dev"}, "--master-url is required with --stack-outputs=false"},
			{"no stack", []string{"--master-url", c.webURL}, "--stack is required"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, stdout, stderr := runCommand(context.Background(), nil, append(tc.args, "--results-dir", t.TempDir())...)
				if code != exitCouldNotRun || !strings.Contains(stderr, tc.want) {
					t.Errorf("exit %d, stderr %q; want %d and %q\n%s", code, stderr, exitCouldNotRun, tc.want, stdout)
				}
			})
		}
	})
}

// TestRunThroughTheWebLogin: with the master's web UI behind the stack's
// login the command says so without credentials, exits 2 on a wrong
// password, and runs a whole test with the right one, every request the
// target served counted. Locust 2.12 has no web login (the component
// refuses its image; components.TestWebLoginOnRealLocust).
func TestRunThroughTheWebLogin(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		if !l.AtLeast(2, 21) {
			t.Logf("Locust %s has no --web-login", l.Version)
			return
		}
		const password = "loadtest-login-password-9"
		c := startClusterWith(t, l, &fakeapps.BookinfoProductPage{}, 2,
			&components.WebLogin{Username: "ci", Password: pulumi.ToSecret(pulumi.String(password)).(pulumi.StringOutput)})
		// The refusals below give the command 5 s to reach the master: it
		// must be up first, which takes longer than that on a loaded machine.
		locusttest.WaitFor(t, time.Now().Add(60*time.Second), "the master's web UI", func() bool {
			resp, err := http.Get(c.webURL + "/")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
		args := []string{"--stack", "local", "--master-url", c.webURL, "--users", "4", "--spawn-rate", "4", "--run-time", "3s",
			"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--max-fail-ratio", "0"}
		for _, tc := range []struct {
			name, user, password, want string
		}{
			{"no credentials", "", "", "asks for a login"},
			{"a wrong password", "ci", "guess", `logging in to the web UI as "ci": the master refused the login: wrong username or password`},
		} {
			env := map[string]string{"LOCUST_EKS_WEB_USERNAME": tc.user, "LOCUST_EKS_WEB_PASSWORD": tc.password}
			code, stdout, stderr := runCommand(context.Background(), env, append(args, "--results-dir", t.TempDir(), "--wait-workers", "5s")...)
			if code != exitCouldNotRun || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s: exit %d, stderr %q; want %d and %q\n%s", tc.name, code, stderr, exitCouldNotRun, tc.want, stdout)
			}
		}
		env := map[string]string{"LOCUST_EKS_WEB_USERNAME": "ci", "LOCUST_EKS_WEB_PASSWORD": password}
		code, stdout, stderr := runCommand(context.Background(), env, append(args, "--results-dir", t.TempDir())...)
		if code != exitOK || !strings.Contains(stdout, "logged in to the web UI as ci") {
			t.Fatalf("exit %d, want 0 after logging in\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if served := c.target.Hits()["GET /productpage"]; s.Stats.Total.Requests == 0 || served != s.Stats.Total.Requests {
			t.Errorf("the target served %d requests, the summary counts %d", served, s.Stats.Total.Requests)
		}
		if strings.Contains(stdout+stderr, password) || strings.Contains(c.master.Output(), password) {
			t.Error("the password shows in the command's or the master's output")
		}
		t.Logf("Locust %s: refused without credentials and with a wrong password (exit 2); a run through the login counted %d requests, as served",
			l.Version, s.Stats.Total.Requests)
	})
}

// TestFlagsWinOverStackOutputs: the stack's loadTest output fills every flag
// not given on the command line.
func TestFlagsWinOverStackOutputs(t *testing.T) {
	out, err := stackoutputs.Parse([]byte(`{"namespace":"locust","masterService":"loadtest-master","workers":4,
		"loadTest":{"users":200,"spawnRate":20,"runTime":"5m0s","maxFailRatio":0.01,"maxP95Ms":800,"maxP99Ms":0,"minRps":50,"maxRegressionPct":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--stack", "dev", "--master-url", "http://localhost:8089", "--users", "7", "--max-p95-ms", "300"})
	if err != nil {
		t.Fatal(err)
	}
	o.applyOutputs(out)
	want := runreport.Thresholds{MaxFailRatio: 0.01, MaxP95Ms: 300, MinRPS: 50, MaxRegressionPct: 10}
	if o.users != 7 || o.spawnRate != 20 || o.runTime != 5*time.Minute || o.expectWorkers != 4 || o.thresholds != want {
		t.Errorf("options %+v, thresholds %+v; want users 7 and p95 300 from the flags, the rest from the outputs", o, o.thresholds)
	}
	if _, err := stackoutputs.Parse([]byte(`{"namespace":"locust"}`)); err == nil || !strings.Contains(err.Error(), "pulumi up") {
		t.Errorf("outputs of an older deployment: %v", err)
	}
}

// renderedContainer is the first container of the Deployment name as the
// mock monitor recorded it.
func renderedContainer(t *testing.T, m *pulumimock.Monitor, name string) k8sobject.Container {
	t.Helper()
	r, ok := m.Get("kubernetes:apps/v1:Deployment", name)
	if !ok {
		t.Fatalf("no Deployment %s", name)
	}
	var d k8sobject.Deployment
	if err := r.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// mountedLocustfiles writes the files of the one rendered ConfigMap to a
// folder, as the pods mount them, and returns it.
func mountedLocustfiles(t *testing.T, m *pulumimock.Monitor) string {
	t.Helper()
	cm := m.OfType("kubernetes:core/v1:ConfigMap")
	if len(cm) != 1 {
		t.Fatalf("%d ConfigMaps rendered", len(cm))
	}
	var mounted struct {
		Data map[string]string `json:"data"`
	}
	if err := cm[0].Decode(&mounted); err != nil {
		t.Fatal(err)
	}
	return locusttest.Mount(t, mounted.Data)
}
