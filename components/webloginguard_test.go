package components

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWebLoginGuardsOnRealLocust: on every Locust with --web-login, POST
// /user without a session goes to the login page like every other route
// (Locust left it open up to 2.37.1; on 2.24.0 it reached the handler and
// answered 500); and on an exposed master the login takes only POST, so
// the password never travels in a URL, while a private one still takes the
// GET that the login form of Locust up to 2.31.7 sends.
func TestWebLoginGuardsOnRealLocust(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		if !hasLoginOrIsRefused(t, l) {
			return
		}
		for _, tc := range []struct {
			name     string
			exposure *WebExposure
			getLogin int // the status of a login by GET with the right password
		}{
			{"private", nil, http.StatusFound},
			{"exposed", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}, http.StatusMethodNotAllowed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.exposure != nil {
					if !exposableOrRefused(t, l) {
						return
					}
				}
				p, _ := startLoginMaster(t, l, tc.exposure, "")
				r, _ := http.NewRequest("POST", p.webURL+"/user", strings.NewReader(`{"user_class_name": "ProductPageUser", "weight": "x"}`))
				r.Header.Set("Content-Type", "application/json")
				resp, err := noRedirects.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if to, _ := resp.Location(); resp.StatusCode != http.StatusFound || to == nil || to.Path != "/login" {
					t.Errorf("POST /user without a session: %s to %v; want a redirect to /login", resp.Status, to)
				}
				q := url.Values{"username": {"team"}, "password": {testWebPassword}}
				resp, err = noRedirects.Get(p.webURL + "/locust-eks/login?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.getLogin {
					t.Errorf("a login by GET: %s, want %d", resp.Status, tc.getLogin)
				}
			})
		}
	})
}
