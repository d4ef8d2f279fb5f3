package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// fleet is how the simulated workers come and go. All at once is the
// steady state; a ramp has them join in steps, as pods do while nodes come
// up; a churn step has some vanish as killed pods do (no quit: the master
// marks them missing after 3 missed heartbeats and drops them after 60 more,
// HEARTBEAT_LIVENESS and HEARTBEAT_DEAD_INTERNAL,
// locust@2.24.0:locust/runners.py:74-75,928-956) and as many new ones join.
// While a swarm runs, each worker joining or dropped makes the master
// dispatch the users again to every worker (runners.py:1021-1027,948-956 at
// 2.24.0; the same at 2.46.7).
type fleet struct {
	workers   int           // workers at full strength
	rampStep  int           // workers joining per step; 0: all at once
	rampEvery time.Duration // between ramp steps
	churn     int           // workers vanishing, and as many joining, at churnAt
	churnAt   time.Duration // after the last ramp step
}

// simulate runs the fleet's workers until ctx ends, calling progress every
// 10 s with how many are connected, and returns the errors of the workers
// that failed.
func simulate(ctx context.Context, cfg config, plan fleet, sent *totals, progress func(running int)) []error {
	host, _ := os.Hostname()
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make(chan error, plan.workers+plan.churn)
	var live []*worker
	cancels := map[*worker]context.CancelFunc{}
	start := func(i int) {
		wcfg := cfg
		if i > 0 {
			wcfg.probe = nil // one worker dates the reports
		}
		// Locust's own node ids are <hostname>_<uuid hex>.
		w := newWorker(fmt.Sprintf("%s_sim%08x%024x", host, i, time.Now().UnixNano()), wcfg, sent, uint64(i))
		wctx, cancel := context.WithCancel(ctx)
		mu.Lock()
		live = append(live, w)
		cancels[w] = cancel
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			if err := w.run(wctx); err != nil && ctx.Err() == nil && !w.vanished.Load() {
				errs <- err
			}
		}()
	}
	wg.Add(1) // the conductor, so that Wait cannot return while it starts workers
	go func() {
		defer wg.Done()
		next := conduct(ctx, plan, start)
		if plan.churn == 0 || !sleep(ctx, plan.churnAt) {
			return
		}
		mu.Lock()
		// Every (live/churn)-th worker but the first, which carries the
		// lag probe.
		gone := pickSpread(live[1:], plan.churn)
		for _, w := range gone {
			w.vanished.Store(true)
			cancels[w]()
		}
		mu.Unlock()
		fmt.Fprintf(os.Stderr, "workersim: %d workers vanished; as many join\n", len(gone))
		for range gone {
			start(next)
			next++
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			close(errs)
			var out []error
			for err := range errs {
				out = append(out, err)
			}
			return out
		case <-tick.C:
			if progress != nil {
				mu.Lock()
				running := 0
				for _, w := range live {
					if !w.vanished.Load() {
						running++
					}
				}
				mu.Unlock()
				progress(running)
			}
		}
	}
}

// conduct starts the plan's workers, in ramp steps if it has them, and
// returns the index the next new worker takes.
func conduct(ctx context.Context, plan fleet, start func(i int)) int {
	step := plan.rampStep
	if step <= 0 {
		step = plan.workers
	}
	next := 0
	for next < plan.workers {
		for j := 0; j < step && next < plan.workers; j++ {
			start(next)
			next++
		}
		if next < plan.workers && !sleep(ctx, plan.rampEvery) {
			break
		}
	}
	return next
}

// pickSpread picks n of ws spread evenly over them.
func pickSpread(ws []*worker, n int) []*worker {
	n = min(n, len(ws))
	picked := make([]*worker, 0, n)
	for k := range n {
		picked = append(picked, ws[k*len(ws)/n])
	}
	return picked
}

// sleep waits d, or until ctx ends; it says whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
