package components

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Every shipped locustfile, run by a real master and two real workers from
// the rendered specs, against a fake of the application it is written for.

func TestLocustfilesRunDistributed(t *testing.T) {
	l := findLocust(t)
	files, err := ReadLocustfiles(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if !strings.HasSuffix(name, ".py") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			endpoints, ok := targetEndpoints[name]
			if !ok {
				t.Fatalf("locustfiles/%s has no fake target: add its endpoints to targetEndpoints and the fake target", name)
			}
			target := newFakeTarget(t)
			p := localPlan(t, l, name, target.URL, 4, "6s")
			deadline := time.Now().Add(90 * time.Second)

			master := start(t, l, "master", p.master, p.masterEnv)
			workers := []*process{
				start(t, l, "worker-1", p.worker, p.workerEnv),
				start(t, l, "worker-2", p.worker, p.workerEnv),
			}
			for _, proc := range append([]*process{master}, workers...) {
				if code := proc.wait(t, deadline); code != 0 {
					t.Errorf("%s exited %d, want 0", proc.name, code)
				}
			}

			if ready := readyWorkers(master.output()); len(ready) != 2 {
				t.Errorf("master reported %d workers ready (%v), want 2", len(ready), ready)
			}
			hits, bad := target.snapshot()
			for _, e := range endpoints {
				if hits[e] == 0 {
					t.Errorf("%s received no requests; hits: %v", e, hits)
				}
			}
			for e := range hits {
				if !slices.Contains(endpoints, e) {
					t.Errorf("unexpected requests to %s", e)
				}
			}
			if len(bad) > 0 {
				t.Errorf("the target rejected requests: %v", bad)
			}
			requests, failures, rps := aggregate(t, p.csvPrefix)
			if requests == 0 || failures != 0 {
				t.Errorf("CSV stats: %d requests, %d failures; want some and none", requests, failures)
			}
			t.Logf("Locust %s: master + 2 workers ran %s: %d requests (%.1f/s), %d failures; target hits %v",
				l.version, name, requests, rps, failures, hits)
		})
	}
}
