package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/campaign"
	"github.com/locust-eks/locust-on-eks/internal/locustapi"
)

// One test across several stacks: --stack given more than once. Every
// stack's master runs its share of the users; loadtest starts them
// together, watches them all, stops them together and saves one result,
// their requests merged (merge.go).

// stackShare is one --stack: a stack's name and its share of the users.
type stackShare struct {
	name string
	// share is the stack's weight among the stacks'; 0 when --stack gave
	// none.
	share float64
}

// stackList is the --stack flag, given once per stack.
type stackList []stackShare

// String implements flag.Value.
func (l *stackList) String() string {
	var parts []string
	for _, s := range *l {
		if s.share > 0 {
			parts = append(parts, s.name+"="+strconv.FormatFloat(s.share, 'f', -1, 64))
		} else {
			parts = append(parts, s.name)
		}
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value: NAME, or NAME=SHARE with SHARE a number above
// 0.
func (l *stackList) Set(v string) error {
	name, share, hasShare := strings.Cut(v, "=")
	s := stackShare{name: name}
	if hasShare {
		f, err := strconv.ParseFloat(share, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q: the share after = must be a number above 0, as in dev-use1=60", v)
		}
		s.share = f
	}
	*l = append(*l, s)
	return nil
}

// urlList is the --master-url flag, given once per stack.
type urlList []string

// String implements flag.Value.
func (l *urlList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *urlList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// takeCampaign reads the --campaign file (internal/campaign) into the
// --stack flags: its stacks in its order, each with its share.
func (o *options) takeCampaign() error {
	if !o.set["campaign"] {
		return nil
	}
	if len(o.stacks) > 0 {
		return fmt.Errorf("--campaign %s and --stack %s: give the set's file or the stacks, not both", o.campaign, o.stacks.String())
	}
	c, err := campaign.Read(o.campaign)
	if err != nil {
		return fmt.Errorf("--campaign: %w", err)
	}
	for _, m := range c.Stacks {
		o.stacks = append(o.stacks, stackShare{name: m.Stack, share: m.Share})
	}
	return nil
}

// takeStacks checks the --stack and --master-url flags and sets stack and
// masterURL from them: the one stack's, or for several their names joined
// by "+" (the set's results folder and baselines) and the first URL.
func (o *options) takeStacks() error {
	if len(o.stacks) == 0 {
		return nil
	}
	var names []string
	withShare := 0
	for _, s := range o.stacks {
		if s.name == "" || strings.ContainsAny(s.name, `/\+`) || s.name == "." || s.name == ".." {
			return fmt.Errorf("--stack %q must be a stack name, not a path", s.name)
		}
		if slices.Contains(names, s.name) {
			return fmt.Errorf("--stack %s is given twice", s.name)
		}
		names = append(names, s.name)
		if s.share > 0 {
			withShare++
		}
	}
	switch {
	case len(o.stacks) == 1 && withShare > 0:
		return fmt.Errorf("--stack %s=%g: a share of the users needs several stacks", o.stacks[0].name, o.stacks[0].share)
	case withShare != 0 && withShare != len(o.stacks):
		return errors.New("--stack: give every stack a share of the users (NAME=SHARE), or none for equal shares")
	case len(o.masterURLs) > 0 && len(o.masterURLs) != len(o.stacks):
		return fmt.Errorf("%d --master-url for %d --stack: give one per stack, in the same order, or none", len(o.masterURLs), len(o.stacks))
	}
	o.stack = strings.Join(names, "+")
	if len(o.masterURLs) > 0 {
		o.masterURL = o.masterURLs[0]
	}
	return nil
}

// splitUsers gives each of the stacks its users: 1 each first, so that
// every master runs, then the other users in proportion to the shares
// (all 0: equal), each stack its whole part and the users left over one
// each to the largest fractional parts (the largest remainder method), a
// tie to the stack named first. The counts add up to users.
func splitUsers(users int, shares []float64) ([]int, error) {
	n := len(shares)
	if users < n {
		return nil, fmt.Errorf("--users %d for %d masters: every master runs at least 1 user", users, n)
	}
	var sum float64
	for _, s := range shares {
		sum += s
	}
	weight := func(i int) float64 {
		if sum == 0 {
			return 1 / float64(n)
		}
		return shares[i] / sum
	}
	rest := users - n
	split := make([]int, n)
	fraction := make([]float64, n)
	given := 0
	for i := range shares {
		exact := float64(rest) * weight(i)
		whole := int(math.Floor(exact))
		split[i], fraction[i] = 1+whole, exact-float64(whole)
		given += whole
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(fraction[b], fraction[a]) })
	for _, i := range order[:rest-given] {
		split[i]++
	}
	return split, nil
}

// stackMaster is one stack of the test and its master.
type stackMaster struct {
	name  string
	share float64
	// opts are the stack's own options: its master's URL, login and
	// certificate, its expected workers and locustfiles.
	opts   options
	client *locustapi.Client
	// users and spawnRate are the stack's share of the load.
	users     int
	spawnRate float64
	workers   int
	host      string
	// answered is when the master answered /swarm.
	answered time.Time

	// What the watch saw: the master's last answer and its stats, whether
	// it ran, and why and when it failed. unreachable is set when it
	// failed by not answering: it is asked to stop only briefly, and its
	// results are not collected.
	lastAnswer  time.Time
	missedPolls int
	last        locustapi.Stats
	seenRunning bool
	failed      string
	failedAt    time.Time
	unreachable bool
}

// stackGrace is how long a master may leave the polls unanswered before
// its stack has failed: a lost port-forward reopens after a second
// (kubeforward.Forward.keep), and Locust answers /stats/requests from a
// cache of 2 s (locustapi.StatsCacheTime), so a master silent for 5 s is
// gone, not slow.
const stackGrace = 5 * time.Second

// stackMissedPolls is how many polls in a row a master must miss, besides
// stackGrace of silence, before its stack has failed: with progress lines
// 5 s apart one missed poll is already 5 s of silence.
const stackMissedPolls = 3

// runSeveral runs one test across the stacks of --stack and returns the
// exit code: run's, for several stacks.
func runSeveral(ctx context.Context, o options, stacks []stackRead, members []member, launched time.Time, stdout, stderr io.Writer, getenv func(string) string) int {
	masters, closeForwards, err := connectStacks(ctx, &o, stacks, members, stdout, stderr)
	defer closeForwards()
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	if err := waitForEveryStack(ctx, masters, stdout); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	if err := shareLoad(masters, o); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	ran, err := startTogether(ctx, masters, o, launched, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	ran.ended, ran.interrupted = watchSeveral(ctx, masters, o, ran.started, stdout)
	stopEvery(masters, stdout, stderr)

	// A minute per stack, though their downloads run at once
	// (collectStacks): they share this machine's link and port-forwards;
	// and one for the merged result and its upload.
	saveCtx, cancel := context.WithTimeout(context.Background(), time.Duration(len(masters)+1)*time.Minute)
	defer cancel()
	summary, dir, err := saveSeveral(saveCtx, masters, o, ran, getenv, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitCouldNotRun
	}
	for _, r := range summary.Stacks {
		if r.Failed != "" {
			fmt.Fprintf(stdout, "stack %s failed at %s: %s; the run is incomplete: it never passes and is never a baseline\n", r.Stack, r.FailedAt, r.Failed)
		}
	}
	return reportVerdict(summary, dir, stdout)
}

// connectStacks reaches every member's master, as run reaches one: its
// stack's outputs taken for the flags not given, its own expected
// workers, a port-forward to its master Service without --master-url, its
// login. The load, thresholds, results bucket and image come from the
// first stack's outputs, for the flags not given. The caller closes the
// forwards, also after an error.
func connectStacks(ctx context.Context, o *options, stacks []stackRead, members []member, stdout, stderr io.Writer) ([]*stackMaster, func(), error) {
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	var masters []*stackMaster
	for _, mb := range members {
		s := stacks[mb.stack]
		so := *o
		so.stack, so.masterURL = s.name, s.masterURL
		if s.hasOutputs {
			so.applyOutputs(s.out)
			if !o.set["expect-workers"] {
				so.expectWorkers = mb.workers
			}
			if mb.service != "" {
				closeForward, err := forwardToMaster(ctx, &so, s.out, mb.service, stdout, stderr)
				if err != nil {
					return nil, closeAll, fmt.Errorf("%s: %w", mb.name, err)
				}
				closers = append(closers, closeForward)
			}
		}
		client, err := connectMaster(ctx, &so, stdout)
		if err != nil {
			return nil, closeAll, fmt.Errorf("%s: %w", mb.name, err)
		}
		masters = append(masters, &stackMaster{name: mb.name, share: mb.share, opts: so, client: client})
	}
	if o.outputs {
		first := masters[0].opts
		first.stack, first.masterURL, first.locustfilesSHA256 = o.stack, o.masterURL, ""
		first.webUsername, first.webPassword, first.masterCertificate, first.masterCertificatePEM = "", "", "", ""
		*o = first
	}
	return masters, closeAll, nil
}

// waitForEveryStack waits for every master's workers at once.
func waitForEveryStack(ctx context.Context, masters []*stackMaster, stdout io.Writer) error {
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if m.workers, err = waitForWorkers(ctx, m.client, m.opts, stdout); err != nil {
				errs[i] = fmt.Errorf("stack %s: %w", m.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// shareLoad gives every stack its users (splitUsers) and a spawn rate in
// proportion to them, so that every master reaches its users at the same
// time.
func shareLoad(masters []*stackMaster, o options) error {
	shares := make([]float64, len(masters))
	for i, m := range masters {
		shares[i] = m.share
	}
	users, err := splitUsers(o.users, shares)
	if err != nil {
		return err
	}
	for i, m := range masters {
		m.users = users[i]
		m.spawnRate = o.spawnRate * float64(users[i]) / float64(o.users)
	}
	return nil
}

// startTogether starts every master's swarm at once, one goroutine each
// released together, and keeps when each answered; the spread of those
// times is the run's start skew. When a swarm does not start, the others
// are stopped and the error names the stack.
func startTogether(ctx context.Context, masters []*stackMaster, o options, launched time.Time, stdout, stderr io.Writer) (swarmRun, error) {
	r := swarmRun{started: time.Now().UTC()}
	fmt.Fprintf(stdout, "starting %d users at %g/s for %s across %d masters:", o.users, o.spawnRate, o.runTime, len(masters))
	for _, m := range masters {
		fmt.Fprintf(stdout, " %s %d users at %.3g/s with %d workers;", m.name, m.users, m.spawnRate, m.workers)
	}
	fmt.Fprintln(stdout)
	release := make(chan struct{})
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			m.host, errs[i] = m.client.StartSwarm(ctx, locustapi.Swarm{Users: m.users, SpawnRate: m.spawnRate, Host: o.host})
			m.answered = time.Now()
		}()
	}
	close(release)
	wg.Wait()
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("stack %s: %w", masters[i].name, err))
		}
	}
	if len(failed) > 0 {
		for i, m := range masters {
			if errs[i] == nil {
				if err := m.client.Stop(context.Background()); err != nil {
					fmt.Fprintf(stderr, "loadtest: stack %s: stopping the swarm: %v\n", m.name, err)
				}
			}
		}
		return r, errors.Join(failed...)
	}
	// bench/loadtest-overhead.sh reads this line as it is.
	fmt.Fprintf(stdout, "swarm started %.2fs after launch\n", time.Since(launched).Seconds())
	fmt.Fprintf(stdout, "start skew: the masters answered /swarm within %.0f ms of each other\n", startSkew(masters).Seconds()*1000)
	return r, nil
}

// startSkew is the spread of the times the masters answered /swarm.
func startSkew(masters []*stackMaster) time.Duration {
	first, last := masters[0].answered, masters[0].answered
	for _, m := range masters[1:] {
		if m.answered.Before(first) {
			first = m.answered
		}
		if m.answered.After(last) {
			last = m.answered
		}
	}
	return last.Sub(first)
}

// watchSeveral shows every stack's progress and the merged line until the
// run time is up, a stack fails (pollStacks), or ctx ends (interrupted).
// The caller stops the swarms.
func watchSeveral(ctx context.Context, masters []*stackMaster, o options, started time.Time, out io.Writer) (ended time.Time, interrupted bool) {
	tick := o.interval
	if isTerminal(out) {
		tick = time.Second
	}
	for _, m := range masters {
		m.lastAnswer = m.answered
	}
	runEnd := time.NewTimer(time.Until(started.Add(o.runTime)))
	defer runEnd.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Now().UTC(), true
		case <-runEnd.C:
			fmt.Fprintf(out, "progress: the run time is up; stopping every stack's swarm and waiting up to %s for the workers' last reports\n", locustapi.StopTimeout)
			return time.Now().UTC(), false
		case <-time.After(tick):
		}
		pollStacks(ctx, masters, min(tick, stackGrace))
		if ctx.Err() != nil {
			continue
		}
		severalProgress(out, masters, o, time.Since(started).Truncate(time.Second))
		for _, m := range masters {
			if m.failed != "" {
				fmt.Fprintf(out, "progress: stack %s failed: %s; stopping the other stacks\n", m.name, m.failed)
				return time.Now().UTC(), false
			}
		}
	}
}

// pollStacks reads every master's live stats at once, each read bounded
// by limit, and marks a stack failed whose master has not answered for
// stackGrace, has lost all its workers, or stopped by itself.
func pollStacks(ctx context.Context, masters []*stackMaster, limit time.Duration) {
	var wg sync.WaitGroup
	for _, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readCtx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			stats, err := m.client.Stats(readCtx)
			now := time.Now()
			switch {
			case ctx.Err() != nil:
			case err != nil:
				// One poll lost to a slow answer or a port-forward's
				// blip is not a dead master: it takes stackMissedPolls in
				// a row, and stackGrace of silence.
				m.missedPolls++
				if silent := now.Sub(m.lastAnswer); silent > stackGrace && m.missedPolls >= stackMissedPolls {
					m.failed, m.failedAt, m.unreachable = fmt.Sprintf("its master did not answer %d polls in a row, for %s: %v", m.missedPolls, silent.Round(time.Second), err), now, true
				}
			default:
				m.lastAnswer, m.last, m.missedPolls = now, stats, 0
				switch {
				case stats.State == locustapi.StateSpawning || stats.State == locustapi.StateRunning:
					m.seenRunning = true
					if stats.ConnectedWorkers() == 0 {
						m.failed, m.failedAt = "its master lost all its workers", now
					}
				case stats.State == locustapi.StateStopped && m.seenRunning:
					// Before the master has said running, "stopped" may be
					// its cached answer from before the start.
					m.failed, m.failedAt = "its master stopped the run by itself (the web UI's Stop, or its last worker left)", now
				}
			}
		}()
	}
	wg.Wait()
}

// severalProgress shows one line per stack and the merged line.
func severalProgress(out io.Writer, masters []*stackMaster, o options, elapsed time.Duration) {
	var users, workers, requests, failures int
	var rps float64
	rpsKnown := true
	for _, m := range masters {
		s := m.last
		fmt.Fprintf(out, "progress: %s users %d workers %d rps %s failures %.1f%% %s\n",
			m.name, s.UserCount, s.ConnectedWorkers(), figure(s.CurrentRPS, "%.1f"), 100*s.FailRatio, s.State)
		users, workers = users+s.UserCount, workers+s.ConnectedWorkers()
		requests, failures = requests+max(0, s.Requests), failures+s.Failures
		if s.CurrentRPS == nil {
			rpsKnown = false
		} else {
			rps += *s.CurrentRPS
		}
	}
	total := "-"
	if rpsKnown {
		total = fmt.Sprintf("%.1f", rps)
	}
	ratio := 0.0
	if requests > 0 {
		ratio = float64(failures) / float64(requests)
	}
	fmt.Fprintf(out, "progress: all %s/%s users %d workers %d rps %s failures %.1f%%\n",
		min(elapsed, o.runTime), o.runTime, users, workers, total, 100*ratio)
}

// unreachableStopWait bounds the stop of a master that had stopped
// answering: its stack has failed either way.
const unreachableStopWait = 10 * time.Second

// stopEvery stops the swarm of every master that answers, at once, each
// on a context of its own: a signal now must not lose the workers' last
// reports.
func stopEvery(masters []*stackMaster, stdout, stderr io.Writer) {
	var wg sync.WaitGroup
	for _, m := range masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A master that stopped answering may be back, and its swarm
			// has no run time of its own: ask it to stop too, briefly.
			ctx := context.Background()
			if m.unreachable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, unreachableStopWait)
				defer cancel()
			}
			if err := m.client.Stop(ctx); err != nil {
				fmt.Fprintf(stderr, "loadtest: stack %s: stopping the swarm: %v\n", m.name, err)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintln(stdout, "every stack's swarm is stopped; saving the results")
}
