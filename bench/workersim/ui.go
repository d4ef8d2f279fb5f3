package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// uiPaths are what the web UI fetches every 5 s while a test runs, beside
// /stats/requests (which the lag probe already polls, lag.go): the log
// viewer's /logs (useLogViewer.ts:25 at 2.24.0, :30 at 2.46.3), /tasks
// and /exceptions (useSwarmUi.ts:116,119 at 2.24.0; useFetchTasks.ts:24,
// useFetchExceptions.ts:24 at 2.46.3; all in locust/webui/src/). At 2.46
// /logs returns every worker's shipped log lines (faults.go).
var uiPaths = []string{"/logs", "/tasks", "/exceptions"}

const uiPollInterval = 5 * time.Second

// uiPoller stands in for one open browser tab of the web UI.
type uiPoller struct {
	fetch *lagProbe // its HTTP client, with a longer timeout than the probe's
	mu    sync.Mutex
	sum   uiSummary
}

func newUIPoller(web string) *uiPoller {
	return &uiPoller{fetch: &lagProbe{web: web, client: &http.Client{Timeout: 30 * time.Second}}}
}

// uiSummary is what the poller fetched: polls answered and failed (an
// error or a status other than 200, or over its 30 s timeout), the
// largest /logs body, and the slowest poll.
type uiSummary struct {
	Polls       int     `json:"polls"`
	Failed      int     `json:"failed"`
	LogsMaxKiB  int     `json:"logsMaxKiB"`
	SlowestPoll float64 `json:"slowestMs"`
}

// watch polls every path every 5 s until ctx ends.
func (u *uiPoller) watch(ctx context.Context) {
	every(ctx, uiPollInterval, func() {
		for _, path := range uiPaths {
			began := time.Now()
			resp, err := u.fetch.get(ctx, path)
			size := 0
			if err == nil {
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				size = int(n)
			}
			u.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					u.sum.Failed++
				}
			} else {
				u.sum.Polls++
			}
			if path == "/logs" {
				u.sum.LogsMaxKiB = max(u.sum.LogsMaxKiB, size>>10)
			}
			u.sum.SlowestPoll = max(u.sum.SlowestPoll, float64(time.Since(began).Microseconds())/1000)
			u.mu.Unlock()
		}
	})
}

func (u *uiPoller) summary() uiSummary {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sum
}
