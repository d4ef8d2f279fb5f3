package components

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
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

		// Both versions' workers carry on at first: the timeout, where
		// there is one, is a minute (MASTER_HEARTBEAT_TIMEOUT,
		// runners.py@2.24.0:76, checked by heartbeat_timeout_checker).
		if alive != 2 || after <= atKill {
			t.Errorf("Locust %s workers: %d alive, %d -> %d hits; workers were expected to keep running for now", l.Version, alive, atKill, after)
		}
		if l.AtLeast(2, 19) {
			// They quit on their own a minute after the last heartbeat.
			deadline := time.Now().Add(60*time.Second + 20*time.Second - watch)
			for _, w := range workers {
				w.Wait(t, deadline)
				if !strings.Contains(w.Output(), "Didn't get heartbeat from master") {
					t.Errorf("Locust %s %s exited without saying it lost the master's heartbeat", l.Version, w.Name)
				}
			}
			t.Logf("Locust %s: both workers quit on their own, about a minute after the master died", l.Version)
			return
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
// SIGTERM. Locust alone then tells the master it quits while its users still
// run, and what they do after that, and since the worker's last report
// (every 3 s), is lost. The component's worker plugin (locust_eks_worker.py)
// stops the users first, within the stop timeout, then reports, then lets
// Locust quit. Each answer takes 700 ms, so users are mid-request at the
// SIGTERM: what they finish during the stop grace must reach the master too.
func TestStoppedWorkerReportsItsLastSamples(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: 700 * time.Millisecond}
		target := newFakeTarget(t, app)
		// The master as the component runs it: web UI on, the test started
		// and ended (by its run time) through the web API.
		run := startWebRun(t, l, "bookinfo.py", target)
		api, master, workers := run.api, run.master, run.workers
		ctx := context.Background()
		if err := api.Start(ctx, locustapi.Swarm{Users: 20, SpawnRate: 20, RunTime: 12 * time.Second}); err != nil {
			t.Fatal(err)
		}
		// Between two reports of the worker, so that samples are pending.
		waitFor(t, time.Now().Add(30*time.Second), "requests flowing", func() bool { return target.Total() > 0 })
		time.Sleep(4500 * time.Millisecond)
		stoppedAt := time.Now()
		if err := workers[0].Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := workers[0].Wait(t, time.Now().Add(60*time.Second)); code != 0 {
			t.Errorf("worker exited %d on SIGTERM, want 0", code)
		}
		// Answers that went out during the stopped worker's grace (the other
		// worker's too: the run goes on).
		late := app.AnsweredAfter(stoppedAt)
		if err := api.WaitStopped(ctx, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		s, err := api.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if served := target.Total(); s.Requests != served {
			t.Errorf("the target answered %d requests, the master counts %d: the stopped worker's last samples were lost", served, s.Requests)
		}
		if !master.Running() || !workers[1].Running() {
			t.Errorf("the master or the other worker exited; both should run on")
		}
		t.Logf("Locust %s: a worker stopped with SIGTERM while its users were mid-request; the target answered %d requests (%d after the SIGTERM), the master counts %d",
			l.Version, target.Total(), late, s.Requests)
	})
}

// restlessUsers is a locustfile whose users barely wait between requests,
// so that at any moment some of them are waking up: what makes Locust's
// kill of a waiting user race with that user's next request.
const restlessUsers = `from locust import FastHttpUser, between, task


class Restless(FastHttpUser):
    wait_time = between(0.001, 0.02)

    @task
    def page(self):
        self.client.get("/productpage")
`

// TestStoppingUsersLosesNoRequest: when a test stops, Locust kills every
// user waiting between tasks (User.stop), but the kill lands from a gevent
// loop callback, after other greenlets ran: a user whose wait ended in
// between has sent its next request, which the target serves and no one
// records. The worker plugin marks such users stopping before the kill.
// Starts and stops of 100 restless users on two workers; the target's count
// and the master's must agree after each.
func TestStoppingUsersLosesNoRequest(t *testing.T) {
	const rounds, users = 3, 100
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: 30 * time.Millisecond}
		target := newFakeTarget(t, app)
		args := testArgs(t)
		args.Locustfiles = map[string]string{"restless.py": restlessUsers}
		args.Run = []string{"restless.py"}
		p := renderedPlanOf(t, l, args, target.URL)
		p.master = append(p.master, "--web-host=127.0.0.1")
		api := startWebRunOf(t, l, p).api
		ctx := context.Background()
		for round := 1; round <= rounds; round++ {
			// Workers rejoin stop-timeout after a stop.
			waitFor(t, time.Now().Add(45*time.Second), "both workers ready", func() bool {
				s, err := api.Stats(ctx)
				return err == nil && s.ConnectedWorkers() == 2
			})
			// A new swarm of a stopped master keeps the last one's figures.
			if _, err := api.Get(ctx, "/stats/reset"); err != nil {
				t.Fatal(err)
			}
			base := target.Total()
			if err := api.Start(ctx, locustapi.Swarm{Users: users, SpawnRate: users}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, time.Now().Add(30*time.Second), "requests flowing", func() bool { return target.Total() > base+200 })
			// Stop returns once the master says stopped: both workers
			// have stopped their users and sent their last report.
			if err := api.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			// What the users sent before they stopped is answered within
			// the target's 30 ms, well inside the wait for Locust's cached
			// answer, which may predate the swarm, to expire.
			s, err := api.SettledStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if served := target.Total() - base; s.Requests != served {
				t.Fatalf("round %d: the target answered %d requests, the master counts %d (%d failed): users stopped with a request in flight", round, served, s.Requests, s.Failures)
			}
			t.Logf("Locust %s, round %d: %d requests, all counted", l.Version, round, s.Requests)
		}
	})
}

// sleepyUsers is a locustfile whose users are always mid-request: with
// the target's long answers, a stop finds each one waiting for its answer.
const sleepyUsers = `from locust import FastHttpUser, constant, task


class Sleepy(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/productpage")
`

// TestWorkerStoppedDuringAStopReportsFirst: Kubernetes may stop a worker
// (SIGTERM) while the master is stopping the test and the worker waits,
// in state cleanup, for its users' last requests (up to --stop-timeout).
// Locust then says quit at once; the master drops the worker and may say
// stopped before the worker's last report comes, or (2.46) discard it as
// from a worker it no longer knows. The worker plugin waits for that
// report before it lets Locust say quit (review finding 10). Every user is
// mid-request through the stop: the target answers in 6 s, the stop
// comes 1 s into a request and the signal 1 s after it, within the 10 s
// stop timeout. The master's figures,
// read as loadtest reads them the moment it says stopped, must count every
// request the target answered.
func TestWorkerStoppedDuringAStopReportsFirst(t *testing.T) {
	const answer = 6 * time.Second
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		app := &fakeapps.Slow{App: &fakeapps.BookinfoProductPage{}, Delay: answer}
		target := newFakeTarget(t, app)
		args := testArgs(t)
		args.Locustfiles = map[string]string{"sleepy.py": sleepyUsers}
		args.Run = []string{"sleepy.py"}
		p := renderedPlanOf(t, l, args, target.URL)
		p.master = append(p.master, "--web-host=127.0.0.1")
		run := startWebRunOf(t, l, p)
		api := run.api
		ctx := context.Background()
		if err := api.Start(ctx, locustapi.Swarm{Users: 4, SpawnRate: 4}); err != nil {
			t.Fatal(err)
		}
		// The first answers came; a second later every user is past its
		// 50 ms wait (a waiting user is killed at once by a stop) and
		// waits for its next answer, due about 5 s later.
		waitFor(t, time.Now().Add(30*time.Second), "the first answers", func() bool { return target.Total() > 0 })
		time.Sleep(time.Second)
		stopped := make(chan error, 1)
		go func() { stopped <- api.Stop(ctx) }()
		// The master has told the workers to stop well within this second;
		// their users still wait for answers due about 4 s later.
		time.Sleep(time.Second)
		signalled := time.Now()
		for _, w := range run.workers {
			if err := w.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if err := api.WaitStopped(ctx, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		// What loadtest reads first the moment the master says stopped.
		b, err := api.Get(ctx, "/stats/requests/csv")
		if err != nil {
			t.Fatal(err)
		}
		stats, err := runreport.ParseStatsCSV(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		counted := stats.Total.Requests
		for _, w := range run.workers {
			if code := w.Wait(t, time.Now().Add(60*time.Second)); code != 0 {
				t.Errorf("%s exited %d on SIGTERM, want 0", w.Name, code)
			}
		}
		// The workers were in state cleanup at the signal only if their
		// users were still waiting for answers then.
		late := app.AnsweredAfter(signalled)
		if late == 0 {
			t.Fatalf("no answer came after the SIGTERM: the workers were not stopping their users then")
		}
		if served := target.Total(); counted != served {
			t.Errorf("the target answered %d requests (%d after the SIGTERM), the master counted %d when it said stopped: the workers' last reports were lost", served, late, counted)
		}
		t.Logf("Locust %s: both workers got SIGTERM during the stop; the target answered %d requests, %d after the signal; the master counted %d", l.Version, target.Total(), late, counted)
	})
}
