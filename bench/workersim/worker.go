package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
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
	// rtMedian and rtSigma, when rtMedian > 0, draw response times from a
	// lognormal distribution (median rtMedian ms, shape rtSigma), whose
	// tail crosses Locust's 100 ms, 1 s and 10 s rounding steps as real
	// ones do; rtMedian 0 keeps the uniform 5-204 ms of the first
	// measurement.
	rtMedian, rtSigma float64
	// names are the endpoints' names; errors, per endpoint, the distinct
	// failure texts a failed request is filed under (faults.go).
	names  []string
	errors [][]errorKind
	// exceptionRate is how many task exceptions each running worker raises
	// per second, over the kinds of exceptions.
	exceptionRate float64
	exceptions    []exceptionKind
	// probe, on one worker only, adds a request of probeName to each report
	// it sends while its users run, to date the report's arrival (lag.go).
	probe *lagProbe
}

// totals are what the simulated workers reported to the master: requests
// and failures summed over every stats message sent.
type totals struct {
	requests, failures, exceptions atomic.Int64
	logMessages, logLines          atomic.Int64
	// shipped is, per worker id, how many log lines its last logs message
	// carried: the master keeps just that list (faults.go).
	shipped sync.Map
	// samples, when not nil, keeps every reported request's response time
	// as drawn (samples.go).
	samples *sampleLog
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
	errs    map[string]*statsError // the report's errors, by key
	drawn   []float64              // the report's response times as drawn, when sent.samples keeps them
	window  time.Time              // when the current report's window began
	carry   float64                // fractional requests carried to the next tick
	raised  float64                // fractional exceptions carried to the next tick
	rng     *rand.Rand
	// logs is the worker's log buffer (faults.go), for versions that ship it.
	logs []string
	// vanished, set before its context ends, makes the worker leave as a
	// killed pod does: no last report, no quit, its heartbeats just stop.
	vanished atomic.Bool
}

func newWorker(id string, cfg config, sent *totals, seed uint64) *worker {
	w := &worker{id: id, cfg: cfg, sent: sent, state: stateReady, users: map[string]any{}, rng: rand.New(rand.NewPCG(seed, 1))}
	w.resetStats(time.Now())
	// main.py logs "Starting Locust VERSION" before the runner starts
	// (locust@2.46.7:locust/main.py:183,192).
	w.logs = []string{logRecord(time.Now(), hostPart(id), "INFO", "locust.main", "Starting Locust "+cfg.version)}
	return w
}

// hostPart is the hostname a node id starts with (<hostname>_<hex>).
func hostPart(id string) string {
	if i := strings.LastIndexByte(id, '_'); i > 0 {
		return id[:i]
	}
	return id
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
	if sendsLogs(w.cfg.version) {
		go w.shipLogs(ctx)
	}
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
			if w.vanished.Load() {
				return nil
			}
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

// generate adds the requests (and raises the exceptions) of the last
// 100 ms while users run. It draws each request but files it straight into
// the report's histograms, so that a thousand workers at a thousand
// requests a second each stay within the simulator's share of the cores.
func (w *worker) generate() {
	w.mu.Lock()
	if w.state != stateRunning || w.userCount() == 0 {
		w.mu.Unlock()
		return
	}
	w.carry += w.cfg.rps / 10
	n := int(w.carry)
	w.carry -= float64(n)
	at := time.Now()
	now := float64(at.UnixNano()) / 1e9
	for range n {
		i := w.rng.IntN(w.cfg.endpoints)
		failed := w.rng.Float64() < w.cfg.failRatio
		drawn := w.drawResponseTime()
		rt := roundLikeLocust(drawn)
		if w.sent.samples != nil {
			w.drawn = append(w.drawn, drawn)
		}
		e := w.entries[w.cfg.names[i]]
		if e == nil {
			e = newEntry(w.cfg.names[i], "GET", float64(w.window.UnixNano())/1e9)
			w.entries[w.cfg.names[i]] = e
		}
		f := 0
		if failed {
			f = 1
			w.fileError(i, now)
		}
		e.add(now, 1, f, rt, 512)
		w.total.add(now, 1, f, rt, 512)
	}
	w.raised += w.cfg.exceptionRate / 10
	raise := make([]exceptionKind, int(w.raised))
	w.raised -= float64(len(raise))
	for j := range raise {
		raise[j] = w.cfg.exceptions[w.rng.IntN(len(w.cfg.exceptions))]
		if sendsLogs(w.cfg.version) {
			w.log(exceptionLogRecord(at, hostPart(w.id), raise[j]))
		}
	}
	w.mu.Unlock()
	for _, k := range raise {
		if w.send("exception", map[string]any{"msg": k.msg, "traceback": k.traceback}) == nil {
			w.sent.exceptions.Add(1)
		}
	}
}

// drawResponseTime draws one response time in ms, as a worker measures
// it; Locust keeps it rounded (roundLikeLocust).
func (w *worker) drawResponseTime() float64 {
	if w.cfg.rtMedian <= 0 {
		return float64(5 + w.rng.IntN(200))
	}
	return w.cfg.rtMedian * math.Exp(w.cfg.rtSigma*w.rng.NormFloat64())
}

// fileError counts a failure of endpoint i under one of its error texts,
// as RequestStats.log_error does (locust@2.46.7:locust/stats.py:250-262,
// StatsError.occurred :759-764). Called with w.mu held.
func (w *worker) fileError(i int, now float64) {
	kinds := w.cfg.errors[i]
	k := kinds[w.rng.IntN(len(kinds))]
	e := w.errs[k.key]
	if e == nil {
		e = &statsError{Name: w.cfg.names[i], Method: "GET", Error: k.text}
		if errorsHaveSeenTimes(w.cfg.version) {
			first := now
			e.FirstSeen = &first
		}
		w.errs[k.key] = e
	}
	e.Occurrences++
	if e.FirstSeen != nil {
		last := now
		e.LastSeen = &last
	}
}

// log appends a record to the worker's log buffer, dropping the oldest past
// its 500 lines. Called with w.mu held.
func (w *worker) log(record string) {
	w.logs = append(w.logs, record)
	if len(w.logs) > logBufferLines {
		w.logs = w.logs[len(w.logs)-logBufferLines:]
	}
}

// shipLogs is logs_reporter (faults.go): from the start, every 10 s, send
// the whole buffer when it is longer than at the last look; after a jump
// of more than 70 lines, warn, send once more and stop.
func (w *worker) shipLogs(ctx context.Context) {
	shipped := 0
	for {
		w.mu.Lock()
		current := len(w.logs)
		burst := current-shipped > logBurstLines
		if burst {
			w.log(logRecord(time.Now(), hostPart(w.id), "WARNING", "locust.runners",
				"The worker attempted to send more than 70 log lines in one interval. Further log sending was disabled for this worker."))
		}
		logs := slices.Clone(w.logs)
		w.mu.Unlock()
		if (burst || current > shipped) && w.send("logs", map[string]any{"worker_id": w.id, "logs": logs}) == nil {
			w.sent.logMessages.Add(1)
			w.sent.logLines.Add(int64(len(logs)))
			w.sent.shipped.Store(w.id, len(logs))
		}
		if burst {
			return
		}
		shipped = current
		select {
		case <-ctx.Done():
			return
		case <-time.After(logReportInterval):
		}
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
		if w.sent.samples != nil {
			w.drawn = append(w.drawn, 1)
		}
	}
	entries := make([]any, 0, len(w.entries))
	for _, e := range w.entries {
		entries = append(entries, e)
	}
	data := map[string]any{
		"stats": entries, "stats_total": w.total, "errors": w.errs,
		"user_count": w.userCount(), "user_classes_count": w.users,
	}
	requests, failures, drawn := w.total.NumRequests, w.total.NumFailures, w.drawn
	w.resetStats(time.Now())
	w.mu.Unlock()
	sentAt := time.Now()
	if err := w.send("stats", data); err == nil {
		if probing {
			w.cfg.probe.sentOne(sentAt)
		}
		w.sent.requests.Add(int64(requests))
		w.sent.failures.Add(int64(failures))
		if w.sent.samples != nil {
			w.sent.samples.add(drawn)
		}
	}
}

func (w *worker) resetStats(now time.Time) {
	w.window = now
	w.entries = map[string]*statsEntry{}
	w.total = newEntry("Aggregated", "", float64(now.UnixNano())/1e9)
	w.errs = map[string]*statsError{}
	w.drawn = nil
}

// roundLikeLocust rounds a response time in ms as Locust keys its
// histogram: to 1 ms below 100, 10 ms below 1 s, 100 ms below 10 s, 1 s
// above, half to even as Python's round does
// (locust@2.24.0:locust/stats.py:395-404, bucket_response_time in
// locust@2.46.7:locust/stats.py:124-142).
func roundLikeLocust(ms float64) int {
	step := 1.0
	switch {
	case ms >= 10000:
		step = 1000
	case ms >= 1000:
		step = 100
	case ms >= 100:
		step = 10
	}
	return int(math.RoundToEven(ms/step) * step)
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
