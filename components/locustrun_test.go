package components

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// These tests run real Locust processes, started from the containers the
// component renders, against a fake target on 127.0.0.1. They prove what the
// mocks cannot: that Locust accepts our arguments, that workers find the
// master the way the rendered wiring says, and that the locustfiles call the
// endpoints of the systems they are written for.

func TestMain(m *testing.M) {
	code := m.Run()
	locusttest.Cleanup()
	os.Exit(code)
}

// locust and process are the real-Locust harness these tests share with
// other packages' tests.
type (
	locust  = locusttest.Locust
	process = locusttest.Process
)

var (
	eachLocust   = locusttest.Each
	start        = locusttest.Start
	freePort     = locusttest.FreePort
	readyWorkers = locusttest.ReadyWorkers
	waitFor      = locusttest.WaitFor
)

// plan is how to start the master and the workers of one rendered cluster.
type plan struct {
	master, worker []string // argv
	masterEnv      []string
	workerEnv      []string
	csvPrefix      string
	// webURL is the master's web UI, when it runs one (webPlan).
	webURL string
	// metricsURL is the master's metrics port, where it serves /metrics.
	metricsURL string
}

// renderedPlan renders a LocustCluster running locustfile against target
// and turns its containers into local commands. Only what cannot hold
// outside a cluster changes: the Service DNS name becomes 127.0.0.1, the
// Service's ports become free local ports, and the ConfigMap mount path
// becomes the locustfiles directory.
func renderedPlan(t *testing.T, l *locust, locustfile, target string) plan {
	t.Helper()
	args := testArgs(t)
	args.Run = []string{locustfile}
	return renderedPlanOf(t, l, args, target)
}

// renderedPlanOf is renderedPlan for the component's args, whatever
// locustfiles they hold.
func renderedPlanOf(t *testing.T, l *locust, args *LocustClusterArgs, target string) plan {
	t.Helper()
	args.TargetHost = pulumi.String(target)
	args.Workers = 2
	r := deploy(t, "loadtest", args)

	// The files as the pods mount them: the ConfigMap's.
	dir := locusttest.Mount(t, r.configMap.Data)
	ports := map[int]int{}
	for _, p := range r.service.Spec.Ports {
		ports[p.Port] = freePort(t)
	}
	masterAddress := r.outputs["masterAddress"].(string)

	localize := func(c k8sobject.Container) (argv, env []string) {
		argv, env, err := locusttest.Localize(c, l, dir, ports, masterAddress)
		if err != nil {
			t.Fatal(err)
		}
		return argv, env
	}

	p := plan{
		csvPrefix:  filepath.Join(t.TempDir(), "stats"),
		webURL:     fmt.Sprintf("http://127.0.0.1:%d", ports[WebPort]),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[MetricsPort]),
	}
	p.master, p.masterEnv = localize(r.container("master"))
	p.worker, p.workerEnv = localize(r.container("worker"))
	p.master = append(p.master, "--master-bind-host=127.0.0.1")
	return p
}

// localPlan is renderedPlan bounded as a headless run: users, spawn rate,
// run time and the CSV output. A headless master quits at the run time and
// waits only 0.5 s for its workers' last reports (MasterRunner.quit,
// runners.py@2.46.3:909-916); the component's master never runs headless.
func localPlan(t *testing.T, l *locust, locustfile, target string, users int, runTime string) plan {
	t.Helper()
	p := renderedPlan(t, l, locustfile, target)
	p.master = append(p.master,
		"--headless",
		fmt.Sprintf("--users=%d", users),
		fmt.Sprintf("--spawn-rate=%d", users),
		"--run-time="+runTime,
		"--expect-workers=2",
		"--expect-workers-max-wait=30",
		"--csv="+p.csvPrefix,
	)
	return p
}

// webPlan is renderedPlan with the master's web UI on, as the component runs
// it: tests are started and stopped through its API (p.webURL).
func webPlan(t *testing.T, l *locust, locustfile, target string) plan {
	t.Helper()
	p := renderedPlan(t, l, locustfile, target)
	p.master = append(p.master, "--web-host=127.0.0.1")
	return p
}

// webRun is a master with its web UI and two workers, as the component
// runs them, loading locustfile against target, with both workers ready.
type webRun struct {
	api *locustapi.Client
	// webURL and metricsURL are the master's web and metrics ports (plan's).
	webURL, metricsURL string
	master             *process
	workers            []*process
}

func startWebRun(t *testing.T, l *locust, locustfile string, target *fakeTarget) webRun {
	t.Helper()
	return startWebRunOf(t, l, webPlan(t, l, locustfile, target.URL))
}

// startWebRunOf starts the master and two workers of a plan.
func startWebRunOf(t *testing.T, l *locust, p plan) webRun {
	t.Helper()
	r := webRun{
		webURL:     p.webURL,
		metricsURL: p.metricsURL,
		master:     start(t, l, "master", p.master, p.masterEnv),
		workers:    []*process{start(t, l, "worker-1", p.worker, p.workerEnv), start(t, l, "worker-2", p.worker, p.workerEnv)},
	}
	var err error
	if r.api, err = locustapi.New(p.webURL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Now().Add(45*time.Second), "both workers ready", func() bool {
		s, err := r.api.Stats(context.Background())
		return err == nil && s.ConnectedWorkers() == 2
	})
	return r
}

// exceptions reads the master's exceptions CSV: one line per distinct error
// raised in user code.
func exceptions(t *testing.T, prefix string) []string {
	t.Helper()
	f, err := os.Open(prefix + "_exceptions.csv")
	if err != nil {
		t.Fatalf("master wrote no exceptions CSV: %v", err)
	}
	defer f.Close()
	return exceptionRows(t, bufio.NewReader(f))
}

// exceptionRows reads an exceptions CSV, the file's or the master's
// /exceptions/csv: one line per distinct error, its header left out.
func exceptionRows(t *testing.T, r io.Reader) []string {
	t.Helper()
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil || len(rows) < 1 {
		t.Fatalf("reading the exceptions CSV: %v (%d rows)", err, len(rows))
	}
	var found []string
	for _, row := range rows[1:] {
		found = append(found, strings.Join(row, " | "))
	}
	return found
}

// aggregate reads the master's CSV stats: total requests and failures.
func aggregate(t *testing.T, prefix string) (requests, failures int, rps float64) {
	t.Helper()
	f, err := os.Open(prefix + "_stats.csv")
	if err != nil {
		t.Fatalf("master wrote no CSV stats: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("reading CSV stats: %v (%d rows)", err, len(rows))
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("CSV stats have no %q column: %v", name, rows[0])
		}
		return i
	}
	nameCol, reqCol, failCol, rpsCol := col("Name"), col("Request Count"), col("Failure Count"), col("Requests/s")
	for _, row := range rows[1:] {
		if row[nameCol] == "Aggregated" {
			requests, _ = strconv.Atoi(row[reqCol])
			failures, _ = strconv.Atoi(row[failCol])
			rps, _ = strconv.ParseFloat(row[rpsCol], 64)
			return
		}
	}
	t.Fatalf("CSV stats have no Aggregated row")
	return
}
