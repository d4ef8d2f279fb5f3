package locustapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestLoginWaitsWhileBusy: a master whose login is busy answers 429 with
// Retry-After, as the component's plugin does when too many attempts are
// under way (components/locust_eks_worker.py, the login's busy answer);
// Login waits and asks again, a bounded number of times, and reports a
// login that stays busy as such.
func TestLoginWaitsWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		busyFor   int32 // answers of 429 before the login is taken
		wantAsked int32
		wantErr   string
	}{
		{"free", 0, 1, ""},
		{"busy twice", 2, 3, ""},
		{"busy throughout", 100, loginBusyTries, "busy with other attempts (429); asked 4 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int32
			master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != LoginPath || r.Method != http.MethodPost {
					http.NotFound(w, r)
					return
				}
				if asked.Add(1) <= tc.busyFor {
					w.Header().Set("Retry-After", "1")
					http.Error(w, "busy", http.StatusTooManyRequests)
					return
				}
				http.Redirect(w, r, "/", http.StatusFound)
			}))
			defer master.Close()
			c, err := New(master.URL)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Login(context.Background(), "team", "correct-horse-battery")
			if (tc.wantErr == "" && err != nil) || (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr))) {
				t.Errorf("Login: %v; want %q", err, tc.wantErr)
			}
			if asked.Load() != tc.wantAsked {
				t.Errorf("the master was asked %d times; want %d", asked.Load(), tc.wantAsked)
			}
		})
	}
}

// TestRetryAfter: the wait follows the header in seconds, within bounds.
func TestRetryAfter(t *testing.T) {
	for header, want := range map[string]string{"8": "8s", "0": "1s", "3600": "30s", "": "8s", "Wed, 21 Oct 2015 07:28:00 GMT": "8s"} {
		if got := retryAfter(header).String(); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", header, got, want)
		}
	}
}
