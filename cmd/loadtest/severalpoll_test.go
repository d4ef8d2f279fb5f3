package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
)

// TestOneMissedPollIsNotAFailedStack: a master that misses a poll (a slow
// answer, a port-forward's blip) is not yet a failed stack, even when the
// polls are further apart than stackGrace; stackMissedPolls in a row and
// stackGrace of silence are.
func TestOneMissedPollIsNotAFailedStack(t *testing.T) {
	master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusBadGateway)
	}))
	defer master.Close()
	client, err := locustapi.New(master.URL)
	if err != nil {
		t.Fatal(err)
	}
	m := &stackMaster{name: "dev-use1", client: client, lastAnswer: time.Now().Add(-2 * stackGrace)}
	for poll := 1; poll <= stackMissedPolls; poll++ {
		pollStacks(context.Background(), []*stackMaster{m}, time.Second)
		if failed := m.failed != ""; failed != (poll == stackMissedPolls) {
			t.Fatalf("after %d missed polls, %s of silence: failed %q; want failed only after %d", poll, time.Since(m.lastAnswer).Round(time.Second), m.failed, stackMissedPolls)
		}
	}
	if !m.unreachable || !strings.Contains(m.failed, "did not answer 3 polls in a row") {
		t.Errorf("failed %q (unreachable %v); want it named as not answering", m.failed, m.unreachable)
	}
}
