package components

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWebLoginCredentialsOnRealLocust drives a real master's login with
// the right credentials and with near misses: wrong ones of the same
// length, longer, shorter, a prefix, empty, another case. Only the right
// pair gets in. The plugin compares SHA-256 digests, which are all of one
// length, so the comparison's time says nothing of the password's length
// (review web.md finding 14); a comparison that stopped at the shorter
// value would let a longer password in. Each attempt comes from an address
// of its own, so none waits for another's failures.
func TestWebLoginCredentialsOnRealLocust(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		if !hasLoginOrIsRefused(t, l) {
			return
		}
		p, _ := startLoggedLoginMaster(t, l)
		pw := testWebPassword
		for i, tc := range []struct {
			name, username, password, want string
		}{
			{"the right pair", "team", pw, "in"},
			{"a wrong password of the same length", "team", strings.Repeat("x", len(pw)), "refused"},
			{"the password and one more character", "team", pw + "x", "refused"},
			{"the password and a character outside ASCII", "team", pw + "é", "refused"},
			{"the password less its last character", "team", pw[:len(pw)-1], "refused"},
			{"the password's first half", "team", pw[:len(pw)/2], "refused"},
			{"an empty password", "team", "", "refused"},
			{"a longer username", "teams", pw, "refused"},
			{"a shorter username", "tea", pw, "refused"},
			{"the username in another case", "Team", pw, "refused"},
			{"both empty", "", "", "refused"},
		} {
			address := fmt.Sprintf("127.0.1.%d", i+1)
			if got := loginFrom(t, p.webURL, address, tc.username, tc.password); got != tc.want {
				t.Errorf("%s: %s; want %s", tc.name, got, tc.want)
			}
		}
	})
}

// TestWebLoginErrorPerSessionOnRealLocust: after a wrong login, the login
// page says "Wrong username or password" to that session only. Locust
// 2.24.0 renders the UI's one auth_args dict for every visitor, where the
// plugin used to put the error (review web.md finding 15); the login runs
// there, unexposed, as it does from 2.21.
func TestWebLoginErrorPerSessionOnRealLocust(t *testing.T) {
	const loginError = "Wrong username or password"
	eachLocust(t, func(t *testing.T, l *locust) {
		if !hasLoginOrIsRefused(t, l) {
			return
		}
		p, _ := startLoggedLoginMaster(t, l)
		answer, failed := loginFromKeeping(t, p.webURL, "127.0.2.1", "team", "wrong")
		if answer != "refused" || failed == nil {
			t.Fatalf("a wrong login: %s, session cookie %v; want refused with a session", answer, failed)
		}
		loginPage := func(address string, session *http.Cookie) string {
			t.Helper()
			r, _ := http.NewRequest("GET", p.webURL+"/login", nil)
			if session != nil {
				r.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
			}
			resp, err := clientFrom(address).Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /login from %s: %s", address, resp.Status)
			}
			return string(body)
		}
		if page := loginPage("127.0.2.1", failed); !strings.Contains(page, loginError) {
			t.Errorf("the session whose login failed reads a login page without %q", loginError)
		}
		for _, address := range []string{"127.0.2.2", "127.0.2.1"} {
			if page := loginPage(address, nil); strings.Contains(page, loginError) {
				t.Errorf("a visitor from %s without a session reads %q, another session's failure", address, loginError)
			}
		}
	})
}
