package components

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWebSessionCookieOnRealLocust runs the rendered master with its login
// and reads the session cookie its login sets: named locust_eks_session
// (not Flask's "session", which other apps of a shared host use),
// SameSite=Strict and HttpOnly always, Secure when people reach the UI
// over HTTPS, and scoped to the base path when there is one. Then it sends
// what a browser would send for a page of another site: the form post to
// /swarm without the cookie (SameSite=Strict withholds it) goes to the
// login; and with the cookie, as a sibling origin of the same site could
// send it, a post or a GET /stop that the browser marks as started
// elsewhere (Sec-Fetch-Site, Origin, Referer) is refused. The UI's own
// same-origin requests still work, and the login page answers 200 without
// a session (the ALB health check's path).
func TestWebSessionCookieOnRealLocust(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		if !hasLoginOrIsRefused(t, l) {
			return
		}
		for _, tc := range []struct {
			name     string
			exposure *WebExposure
			base     string
			secure   bool
		}{
			{"private behind the port-forward", nil, "", false},
			{"load balancer ending TLS", &WebExposure{SourceRanges: []string{"10.0.0.0/16"},
				LoadBalancer: &WebLoadBalancer{CertificateARN: testACMCertificate}}, "", true},
			{"ingress on a sub-path in plain HTTP", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust",
				ControllerNamespace: "ingress-nginx"}}, "/locust", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.exposure != nil {
					if !exposableOrRefused(t, l) {
						return
					}
				}
				checkSessionCookie(t, l, tc.exposure, tc.base, tc.secure)
			})
		}
	})
}

// startLoginMaster starts the rendered master, with its login and
// exposure, without workers, and waits for its login page under base.
func startLoginMaster(t *testing.T, l *locust, exposure *WebExposure, base string) (p plan, target *fakeTarget) {
	t.Helper()
	p, target, _ = startLoginMasterProcess(t, l, exposure, base)
	return p, target
}

// startLoginMasterProcess is startLoginMaster that also returns the
// master's process, to read its log.
func startLoginMasterProcess(t *testing.T, l *locust, exposure *WebExposure, base string) (p plan, target *fakeTarget, master *process) {
	t.Helper()
	target = newFakeTarget(t, http.NotFoundHandler())
	args := loginArgs(t, "locustio/locust:"+l.Version)
	args.WebExposure = exposure
	args.Run = []string{"bookinfo.py"}
	p = renderedPlanOf(t, l, args, target.URL)
	p.master = append(p.master, "--web-host=127.0.0.1")
	for i, e := range p.masterEnv {
		if e == "LOCUST_EKS_WEB_PASSWORD=" {
			p.masterEnv[i] = "LOCUST_EKS_WEB_PASSWORD=" + testWebPassword
		}
	}
	master = start(t, l, "master", p.master, p.masterEnv)
	waitFor(t, time.Now().Add(45*time.Second), "the login page", func() bool {
		resp, err := http.Get(p.webURL + base + "/login")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return p, target, master
}

// noRedirects is a client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func checkSessionCookie(t *testing.T, l *locust, exposure *WebExposure, base string, secure bool) {
	p, target := startLoginMaster(t, l, exposure, base)
	ui := p.webURL + base
	plain := noRedirects
	send := func(method, path string, header map[string]string, form string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest(method, ui+path, strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		resp, err := plain.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	own := map[string]string{"Origin": p.webURL, "Sec-Fetch-Site": "same-origin"}
	login := send("POST", "/locust-eks/login", own, url.Values{"username": {"team"}, "password": {testWebPassword}}.Encode())
	var session *http.Cookie
	for _, c := range login.Cookies() {
		if c.Name == "session" {
			t.Errorf("a cookie named session, which other apps of the host share: %v", c)
		}
		if c.Name == "locust_eks_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("the login set no locust_eks_session cookie: %s, Set-Cookie %q", login.Status, login.Header.Values("Set-Cookie"))
	}
	wantPath := base
	if wantPath == "" {
		wantPath = "/"
	}
	if session.SameSite != http.SameSiteStrictMode || !session.HttpOnly || session.Secure != secure || session.Path != wantPath {
		t.Errorf("Set-Cookie %q; want SameSite=Strict, HttpOnly, Secure %v, Path=%s", login.Header.Values("Set-Cookie"), secure, wantPath)
	}

	cookie := map[string]string{"Cookie": "locust_eks_session=" + session.Value}
	with := func(sets ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, s := range sets {
			for k, v := range s {
				out[k] = v
			}
		}
		return out
	}
	const evil = "https://attacker.example"
	swarm := "user_count=1&spawn_rate=1&host=" + url.QueryEscape(target.URL)
	toLogin := func(resp *http.Response) bool {
		to, _ := resp.Location()
		return resp.StatusCode == http.StatusFound && to != nil && strings.HasSuffix(to.Path, "/login")
	}
	// As a browser sends another site's form: with Origin and
	// Sec-Fetch-Site, and without the SameSite=Strict cookie.
	if resp := send("POST", "/swarm", map[string]string{"Origin": evil, "Sec-Fetch-Site": "cross-site"}, swarm); !toLogin(resp) && resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site form post to /swarm as a browser sends it: %s; want it refused", resp.Status)
	}
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
	}{
		{"POST /swarm marked cross-site", "POST", "/swarm", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": evil}},
		{"POST /swarm from a sibling origin", "POST", "/swarm", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"}},
		{"POST /swarm with a foreign Origin only", "POST", "/swarm", map[string]string{"Origin": evil}},
		{"POST /swarm with a foreign Referer only", "POST", "/swarm", map[string]string{"Referer": evil + "/page"}},
		{"POST /swarm with Origin null", "POST", "/swarm", map[string]string{"Origin": "null"}},
		{"GET /stop marked same-site", "GET", "/stop", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"GET /stats/reset with a foreign Referer", "GET", "/stats/reset", map[string]string{"Referer": evil + "/"}},
	} {
		if resp := send(tc.method, tc.path, with(cookie, tc.header), swarm); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s, with a valid session: %s; want 403", tc.name, resp.Status)
		}
	}
	// The UI's own requests, and clients that are not browsers.
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
	}{
		{"the UI's POST /swarm", "POST", "/swarm", own},
		{"the UI's GET /stop", "GET", "/stop", own},
		// A form posted under a no-referrer policy sends "Origin: null" even
		// to its own origin (Fetch standard); Sec-Fetch-Site still says so.
		{"the UI's form posted under no-referrer", "POST", "/swarm", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}},
		{"GET /stats/requests from a link elsewhere", "GET", "/stats/requests", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"the loadtest command's GET /stop", "GET", "/stop", nil},
	} {
		if resp := send(tc.method, tc.path, with(cookie, tc.header), swarm); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the session: %s; want 200", tc.name, resp.Status)
		}
	}
	t.Logf("Locust %s: Set-Cookie %q; cross-origin state changes refused", l.Version, login.Header.Values("Set-Cookie"))
}

// hasLoginOrIsRefused reports whether Locust l has --web-login to test. For
// one without, what holds is that the stack refuses its login, and that is
// checked instead (TestWebLoginOnRealLocust shows Locust's own parser
// refusing the flag).
func hasLoginOrIsRefused(t *testing.T, l *locust) bool {
	t.Helper()
	if l.AtLeast(2, 21) {
		return true
	}
	if err := ValidateWebLoginImage("locustio/locust:" + l.Version); err == nil {
		t.Errorf("the stack accepts a web login on Locust %s, which has no --web-login", l.Version)
	}
	return false
}

// exposableOrRefused reports whether the stack exposes Locust l's UI. For a
// version it must not expose (below 2.37.2), the refusal is what holds, and
// that is checked instead.
func exposableOrRefused(t *testing.T, l *locust) bool {
	t.Helper()
	err := ValidateWebExposureImage("locustio/locust:" + l.Version)
	if err == nil {
		return true
	}
	t.Logf("the stack refuses to expose Locust %s, as it must below 2.37.2: %v", l.Version, err)
	if l.AtLeast(2, 38) {
		t.Errorf("the stack refuses to expose Locust %s, past 2.37.2", l.Version)
	}
	return false
}
