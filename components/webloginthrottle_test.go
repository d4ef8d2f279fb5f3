package components

import (
	"encoding/json"
	"slices"
	"testing"
)

// throttleProbe drives the plugin's _LoginThrottle in Locust's own Python
// and gevent, with the bounds made small, and prints what it saw as JSON.
// The sleeps are real gevent sleeps of a few milliseconds, so greenlets
// interleave as the web server's do; the bursts' clock stands still, and one
// attempt first takes a turn (or a failure), so every attempt of a burst
// then sleeps and is under way at once.
const throttleProbe = `
import importlib.util, json, sys, time
import gevent
spec = importlib.util.spec_from_file_location("plugin", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
plugin.LOGIN_DELAY = 0.002
plugin.LOGIN_MAX_DELAY = 0.01
plugin.LOGIN_INTERVAL = 0.002
plugin.LOGIN_ADDRESSES = 3
out = {}

def burst(throttle, addresses, check=lambda: False):
    runs = [gevent.spawn(throttle.attempt, a, check) for a in addresses]
    gevent.joinall(runs)
    return [r.value for r in runs]

# One address, more at once than LOGIN_PER_ADDRESS, after one failure.
still = lambda: 0.0
t = plugin._LoginThrottle(gevent.sleep, still)
t.attempt("a", lambda: False)
answers = burst(t, ["a"] * (plugin.LOGIN_PER_ADDRESS + 2))
out["one address: refused unchecked"] = sum(a is None for a in answers)
out["one address: in a row"] = sorted(a[1] for a in answers if a is not None)

# Distinct addresses, more at once than LOGIN_IN_FLIGHT.
t = plugin._LoginThrottle(gevent.sleep, still)
t.attempt("first", lambda: False)
answers = burst(t, ["b%d" % i for i in range(plugin.LOGIN_IN_FLIGHT + 4)])
out["many addresses: refused unchecked"] = sum(a is None for a in answers)
out["table after the burst"] = len(t._addresses)

# The port-forward (127.0.0.1) while all LOGIN_IN_FLIGHT are under way from
# elsewhere: it has a budget of its own; another address does not.
t = plugin._LoginThrottle(gevent.sleep, still)
t.attempt("first", lambda: False)
answers = burst(t, ["d%d" % i for i in range(plugin.LOGIN_IN_FLIGHT)] + ["127.0.0.1", "127.0.0.2"])
out["port-forward during a full burst"] = answers[-2] is not None
out["another loopback address during a full burst"] = answers[-1] is not None

# The table past LOGIN_ADDRESSES: the least recently seen idle address is
# forgotten, a recent one keeps its count.
plugin.LOGIN_INTERVAL = 0
t = plugin._LoginThrottle(gevent.sleep, time.monotonic)
for a in ["x", "y", "x", "z", "w", "x"]:
    last = t.attempt(a, lambda: False)
out["table after 4 addresses"] = len(t._addresses)
out["x in a row after 3 failures"] = last[1]
out["y in a row after being forgotten"] = t.attempt("y", lambda: False)[1]
for i in range(1000):
    t.attempt("c%d" % i, lambda: False)
out["table after 1000 more addresses"] = len(t._addresses)

# A right login clears its address.
t = plugin._LoginThrottle(gevent.sleep, time.monotonic)
t.attempt("r", lambda: False)
out["right after a failure"] = list(t.attempt("r", lambda: True))
out["table after a right login"] = len(t._addresses)
print(json.dumps(out))
`

// TestWebLoginThrottleBounds runs the plugin's login throttle in Locust's
// Python: attempts past LOGIN_PER_ADDRESS from one address, or past
// LOGIN_IN_FLIGHT from all, are refused unchecked and uncounted; the
// address table never holds more than LOGIN_ADDRESSES (here 3) addresses
// with nothing under way, forgetting the least recently seen; a right
// login clears its address. The real master's timings are
// TestWebLoginSlowDownOnRealLocust's.
func TestWebLoginThrottleBounds(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		out := runPythonWithPlugin(t, l, throttleProbe, WorkerPluginFile)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("the probe printed %q: %v", out, err)
		}
		for _, tc := range []struct {
			key  string
			want any
		}{
			{"one address: refused unchecked", 2.0},
			// The failure before the burst was 1; the 4 admitted are 2 to 5.
			{"one address: in a row", []any{2.0, 3.0, 4.0, 5.0}},
			{"many addresses: refused unchecked", 4.0},
			// Addresses with attempts under way are kept: the table holds at
			// most LOGIN_ADDRESSES + LOGIN_IN_FLIGHT; "first", idle, went.
			{"table after the burst", 16.0},
			{"port-forward during a full burst", true},
			{"another loopback address during a full burst", false},
			{"table after 4 addresses", 3.0},
			{"x in a row after 3 failures", 3.0},
			{"y in a row after being forgotten", 1.0},
			{"table after 1000 more addresses", 3.0},
			{"right after a failure", []any{true, 2.0}},
			{"table after a right login", 0.0},
		} {
			if !equalJSON(got[tc.key], tc.want) {
				t.Errorf("%s: %v, want %v", tc.key, got[tc.key], tc.want)
			}
		}
	})
}

// equalJSON compares decoded JSON numbers, booleans and lists of them.
func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		return slices.EqualFunc(as, bs, equalJSON)
	}
	return a == b
}
