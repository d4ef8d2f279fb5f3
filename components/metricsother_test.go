package components

import (
	"encoding/json"
	"testing"
)

// otherProgram fills a real Locust RequestStats with 510 endpoints, reads
// the plugin's rows, then makes the endpoints left in the other row the
// busiest of all and reads them again.
const otherProgram = `
import json
import locust_eks_worker as plugin
from locust.stats import RequestStats

stats = RequestStats()
for i in range(510):
    for k in range(i % 7 + 1):
        stats.log_request("GET", "/item/%d" % i, 20, 0)

def read():
    rows = plugin._endpoint_rows(stats)
    other = [e.num_requests for e in rows if e.name == plugin.OTHER_NAME]
    return (other[0] if other else 0), sorted(e.name for e in rows if e.name != plugin.OTHER_NAME)

before, own_before = read()
added = 0
for i in range(510):
    name = "/item/%d" % i
    if name not in own_before:
        for _ in range(50):
            stats.log_request("GET", name, 20, 0)
            added += 1
after, own_after = read()
print(json.dumps({"before": before, "after": after, "added": added, "same": own_before == own_after}))
`

// TestMetricsOtherRowOnlyGrows: an endpoint keeps the series it was given
// while the master keeps it, so when endpoints in the other row become
// the busiest, the other row gains their requests rather than losing
// some: Prometheus' rate() reads any fall of a counter as a reset.
func TestMetricsOtherRowOnlyGrows(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		out := runPythonWithPlugin(t, l, otherProgram)
		var got struct {
			Before, After, Added int
			Same                 bool
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if got.Added == 0 || got.After != got.Before+got.Added || !got.Same {
			t.Errorf("the other row held %d requests, then %d after %d more to its endpoints (want %d); the endpoints with series unchanged: %v",
				got.Before, got.After, got.Added, got.Before+got.Added, got.Same)
		}
	})
}
