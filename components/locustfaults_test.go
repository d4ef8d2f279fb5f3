package components

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/fakeapps"
)

// What a distributed run does when one of its processes dies.

// startRun starts master and two workers on bookinfo.py with users users
// and waits until the load is flowing.
func startRun(t *testing.T, l *locust, target *fakeTarget, users int, runTime string) (plan, *process, []*process) {
	t.Helper()
	p := localPlan(t, l, "bookinfo.py", target.URL, users, runTime)
	master := start(t, l, "master", p.master, p.masterEnv)
	workers := []*process{
		start(t, l, "worker-1", p.worker, p.workerEnv),
		start(t, l, "worker-2", p.worker, p.workerEnv),
	}
	waitFor(t, time.Now().Add(45*time.Second), "both workers ready and requests flowing", func() bool {
		return len(readyWorkers(master.Output())) == 2 && target.Total() > 0
	})
	return p, master, workers
}

func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		t.Parallel()
		target := newFakeTarget(t, &fakeapps.BookinfoProductPage{})
		p, master, workers := startRun(t, l, target, 4, "10s")
		time.Sleep(2 * time.Second)
		if err := workers[0].Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killedAt := target.Total()

		deadline := time.Now().Add(60 * time.Second)
		if code := master.Wait(t, deadline); code != 0 {
			t.Errorf("master exited %d after losing a worker, want 0", code)
		}
		if code := workers[1].Wait(t, deadline); code != 0 {
			t.Errorf("surviving worker exited %d, want 0", code)
		}
		if !strings.Contains(master.Output(), "missing") {
			t.Errorf("master never noticed the killed worker was missing")
		}
		requests, failures, _ := aggregate(t, p.csvPrefix)
		if requests == 0 || failures != 0 || target.Total() <= killedAt {
			t.Errorf("after the kill: %d requests, %d failures, target hits %d -> %d; want the run to go on", requests, failures, killedAt, target.Total())
		}
		t.Logf("Locust %s: one of two workers SIGKILLed mid-run; the master marked it missing, the run finished on the other (%d requests, exit 0)", l.Version, requests)
	})
}

// TestMasterKilledMidRun records what workers do when their master dies. On
// Locust before 2.19 they carry on loading the target and never exit; from
// 2.19 they quit 60 s after the master's last heartbeat, and on Kubernetes
// the worker Deployment restarts them against the new master.
func TestMasterKilledMidRun(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		t.Parallel()
		target := newFakeTarget(t, &fakeapps.BookinfoProductPage{})
		_, master, workers := startRun(t, l, target, 4, "60s")
		if err := master.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		master.Wait(t, time.Now().Add(10*time.Second))
		atKill := target.Total()

		const watch = 8 * time.Second
		time.Sleep(watch)
		alive := 0
		for _, w := range workers {
			if w.Running() {
				alive++
			}
		}
		after := target.Total()
		t.Logf("Locust %s: %s after a master SIGKILL, %d of 2 workers still run and sent %d more requests to the target",
			l.Version, watch, alive, after-atKill)

		if !l.AtLeast(2, 19) {
			// The behaviour the README documents for this version.
			if alive != 2 || after <= atKill {
				t.Errorf("Locust %s workers: %d alive, %d -> %d hits; this version's workers were expected to keep running without a master", l.Version, alive, atKill, after)
			}
		}
		// SIGTERM, what Kubernetes sends, ends orphaned workers cleanly.
		for _, w := range workers {
			if w.Running() {
				w.Cmd.Process.Signal(syscall.SIGTERM)
				if code := w.Wait(t, time.Now().Add(20*time.Second)); code != 0 {
					t.Errorf("%s exited %d on SIGTERM, want 0", w.Name, code)
				}
			}
		}
	})
}

// TestStoppedWorkerReportsItsLastSamples: Kubernetes stops a worker with
// SIGTERM. Locust alone then tells the master it quits, and the requests
// since the worker's last report (every 3 s) are lost; the component's
// worker plugin (locust_eks_worker.py) sends that report first. So what the
// master counts is what the target served.
func TestStoppedWorkerReportsItsLastSamples(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		t.Parallel()
		target := newFakeTarget(t, &fakeapps.BookinfoProductPage{})
		// 40 users make every second between reports count: about 25 requests
		// per second per worker.
		p, master, workers := startRun(t, l, target, 40, "9s")
		// Between two reports of the worker, so that samples are pending.
		time.Sleep(4500 * time.Millisecond)
		if err := workers[0].Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		if code := workers[0].Wait(t, deadline); code != 0 {
			t.Errorf("worker exited %d on SIGTERM, want 0", code)
		}
		master.Wait(t, deadline)
		workers[1].Wait(t, deadline)
		requests, _, _ := aggregate(t, p.csvPrefix)
		served := target.Total()
		// A request cut off by the stop is served but never recorded; with
		// 0.5 to 1.5 s between a user's requests, hardly any are in flight.
		if served-requests > 5 {
			t.Errorf("the target served %d requests, the master counted %d: the stopped worker's last samples were lost", served, requests)
		}
		t.Logf("Locust %s: a worker stopped with SIGTERM mid-run; the target served %d requests, the master counted %d", l.Version, served, requests)
	})
}
