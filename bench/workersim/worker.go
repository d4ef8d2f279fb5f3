package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Intervals of a Locust worker (locust/runners.py, 2.12.1 and 2.24.0):
// HEARTBEAT_INTERVAL and WORKER_REPORT_INTERVAL.
const (
	heartbeatInterval = 1 * time.Second
	reportInterval    = 3 * time.Second
)

// config is what every simulated worker does.
type config struct {
	master    string // host:port of the master's --master-bind-port
	version   string // the Locust version a worker announces in client_ready
	rps       float64
	endpoints int
	failRatio float64
	// probe, on one worker only, adds a request of probeName to each report
	// it sends while its users run, to date the report's arrival (lag.go).
	probe *lagProbe
}

// totals are what the simulated workers reported to the master: requests
// and failures summed over every stats message sent.
type totals struct {
	requests, failures atomic.Int64
}

// worker speaks Locust's worker protocol to a real master: it connects,
// says client_ready, heartbeats every second, answers spawn and stop as a
// worker does, and while it runs users reports stats every 3 s shaped like
// a real worker's, at cfg.rps requests per second over cfg.endpoints.
type worker struct {
	id     string
	cfg    config
	sent   *totals
	sock   zmq4.Socket
	sendMu sync.Mutex

	mu      sync.Mutex
	state   string
	users   map[string]any // user_classes_count, as the master sent it
	entries map[string]*statsEntry
	total   *statsEntry
	window  time.Time // when the current report's window began
	carry   float64   // fractional requests carried to the next tick
	rng     *rand.Rand
}

func newWorker(id string, cfg config, sent *totals, seed uint64) *worker {
	w := &worker{id: id, cfg: cfg, sent: sent, state: stateReady, users: map[string]any{}, rng: rand.New(rand.NewPCG(seed, 1))}
	w.resetStats(time.Now())
	return w
}

func (w *worker) send(typ string, data any) error {
	b, err := message{Type: typ, Data: data, NodeID: w.id}.encode()
	if err != nil {
		return err
	}
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	return w.sock.Send(zmq4.NewMsg(b))
}

// run connects and serves until ctx ends, then says quit as a stopping
// worker does.
func (w *worker) run(ctx context.Context) error {
	// A real worker waits for its master (up to 5 minutes: CONNECT_TIMEOUT
	// 5 s times CONNECT_RETRY_COUNT 60 in runners.py); this one a minute.
	w.sock = zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity(w.id)),
		zmq4.WithDialerRetry(200*time.Millisecond), zmq4.WithDialerMaxRetries(300))
	defer w.sock.Close()
	if err := w.sock.Dial("tcp://" + w.cfg.master); err != nil {
		return fmt.Errorf("%s: connecting to the master: %w", w.id, err)
	}
	if err := w.send("client_ready", w.cfg.version); err != nil {
		return err
	}
	go every(ctx, heartbeatInterval, w.heartbeat)
	go every(ctx, reportInterval, w.report)
	go every(ctx, 100*time.Millisecond, w.generate)
	msgs := make(chan message)
	go func() {
		for {
			m, err := w.sock.Recv()
			if err != nil {
				close(msgs)
				return
			}
			if msg, err := decode(m.Frames[len(m.Frames)-1]); err == nil {
				msgs <- msg
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			w.report()
			w.send("quit", nil)
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return ctx.Err()
			}
			if err := w.handle(msg); err != nil {
				return err
			}
		}
	}
}

// handle answers one message of the master as WorkerRunner.worker does.
func (w *worker) handle(msg message) error {
	switch msg.Type {
	case "ack":
		// The master's answer to client_ready (with the worker's index,
		// which nothing here needs).
	case "spawn":
		if err := w.send("spawning", nil); err != nil {
			return err
		}
		d, _ := msg.Data.(map[string]any)
		users, _ := d["user_classes_count"].(map[string]any)
		w.mu.Lock()
		w.users, w.state = users, stateRunning
		w.mu.Unlock()
		return w.send("spawning_complete", map[string]any{"user_classes_count": users, "user_count": w.userCount()})
	case "stop":
		// The last samples go before client_stopped, as the component's
		// plugin makes a real worker do: the master counts them all.
		w.mu.Lock()
		w.users, w.state = map[string]any{}, stateReady
		w.mu.Unlock()
		w.report()
		if err := w.send("client_stopped", nil); err != nil {
			return err
		}
		return w.send("client_ready", w.cfg.version)
	case "quit":
		return fmt.Errorf("%s: the master said quit", w.id)
	}
	return nil
}

// every calls f each d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func (w *worker) heartbeat() {
	w.mu.Lock()
	state := w.state
	w.mu.Unlock()
	w.send("heartbeat", map[string]any{"state": state, "current_cpu_usage": 1.0, "current_memory_usage": 50 << 20})
}

func (w *worker) userCount() int {
	n := 0
	for _, v := range w.users {
		n += toInt(v)
	}
	return n
}

// generate adds the requests of the last 100 ms while users run.
func (w *worker) generate() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateRunning || w.userCount() == 0 {
		return
	}
	w.carry += w.cfg.rps / 10
	n := int(w.carry)
	w.carry -= float64(n)
	now := float64(time.Now().UnixNano()) / 1e9
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("/endpoint/%d", w.rng.IntN(w.cfg.endpoints))
		rt := roundLikeLocust(5 + w.rng.IntN(200)) // ms
		failed := 0
		if w.rng.Float64() < w.cfg.failRatio {
			failed = 1
		}
		e := w.entries[name]
		if e == nil {
			e = newEntry(name, "GET", float64(w.window.UnixNano())/1e9)
			w.entries[name] = e
		}
		e.add(now, 1, failed, rt, 512)
		w.total.add(now, 1, failed, rt, 512)
	}
}

// report sends the stats since the last report and starts a new window
// (a worker's report_to_master listeners: stats, stats_total, errors,
// user_count, user_classes_count).
func (w *worker) report() {
	w.mu.Lock()
	probing := w.cfg.probe != nil && w.state == stateRunning
	if probing {
		now := time.Now()
		e := newEntry(probeName, "GET", float64(w.window.UnixNano())/1e9)
		e.add(float64(now.UnixNano())/1e9, 1, 0, 1, 0)
		w.entries[probeName] = e
		w.total.add(float64(now.UnixNano())/1e9, 1, 0, 1, 0)
	}
	entries := make([]any, 0, len(w.entries))
	for _, e := range w.entries {
		entries = append(entries, e)
	}
	data := map[string]any{
		"stats": entries, "stats_total": w.total, "errors": map[string]any{},
		"user_count": w.userCount(), "user_classes_count": w.users,
	}
	requests, failures := w.total.NumRequests, w.total.NumFailures
	w.resetStats(time.Now())
	w.mu.Unlock()
	sentAt := time.Now()
	if err := w.send("stats", data); err == nil {
		if probing {
			w.cfg.probe.sentOne(sentAt)
		}
		w.sent.requests.Add(int64(requests))
		w.sent.failures.Add(int64(failures))
	}
}

func (w *worker) resetStats(now time.Time) {
	w.window = now
	w.entries = map[string]*statsEntry{}
	w.total = newEntry("Aggregated", "", float64(now.UnixNano())/1e9)
}

// roundLikeLocust rounds a response time below 1 s as Locust stores it:
// to 1 ms below 100, to 10 ms above (stats.py, StatsEntry._log_response_time).
func roundLikeLocust(ms int) int {
	if ms < 100 {
		return ms
	}
	return (ms + 5) / 10 * 10
}

// toInt reads a number msgpack decoded, of whatever integer or float type.
func toInt(v any) int {
	r := reflect.ValueOf(v)
	switch {
	case r.CanInt():
		return int(r.Int())
	case r.CanUint():
		return int(r.Uint())
	case r.CanFloat():
		return int(r.Float())
	}
	return 0
}
