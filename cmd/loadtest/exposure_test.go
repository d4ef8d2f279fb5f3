package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/testcert"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// refusesFlag checks that a Locust without an option refuses it, as its
// argument parser does ("unrecognized arguments"): the stack refuses such
// an image at preview for the same reason.
func refusesFlag(t *testing.T, l *locusttest.Locust, flag ...string) {
	t.Helper()
	lf := filepath.Join(t.TempDir(), "locustfile.py")
	if err := os.WriteFile(lf, []byte("from locust import User\n\n\nclass U(User):\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(l.Python, append([]string{"-m", "locust", "-f", lf}, flag...)...)
	cmd.Env = append(os.Environ(), l.Env...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unrecognized arguments: "+flag[0]) {
		t.Fatalf("Locust %s took %s: %v\n%s", l.Version, flag[0], err, out)
	}
	t.Logf("Locust %s refuses %s, as the stack refuses its image for it", l.Version, flag[0])
}

// assetRef is a page's reference to a script, style sheet or icon.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// TestRunBehindAProxyOnASubPath puts the master, rendered for an Ingress
// on the path /locust, behind a reverse proxy that forwards only that path
// and keeps it, as an Ingress with pathType Prefix does. A browser's
// requests (the login page, its assets, the login form, the UI and the API
// calls its pages make, relative to the page) and a whole cmd/loadtest run
// all go through the proxy; nothing may leave the path. Locust serves under
// a path from 2.32.2 (--web-base-path): 2.12 and 2.24 refuse the flag,
// which is why the stack refuses their images with a webPath.
func TestRunBehindAProxyOnASubPath(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		if !l.AtLeast(2, 33) {
			refusesFlag(t, l, "--web-base-path", "/locust")
			return
		}
		const password = "sub-path-login-password-3"
		c := startClusterWith(t, l, &fakeapps.BookinfoProductPage{}, 2,
			&components.WebLogin{Username: "team", Password: pulumi.ToSecret(pulumi.String(password)).(pulumi.StringOutput)},
			func(a *components.LocustClusterArgs) {
				a.WebExposure = &components.WebExposure{Ingress: &components.WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx"}}
			})
		master, _ := url.Parse(c.webURL)
		var mu sync.Mutex
		// escaped are the requests that left the path; browserSaw, the
		// browser's under it, with Locust's answer; browserSession, the
		// cookies the proxy gives the browser's requests once set.
		type browserRequest struct {
			method, path string
			status       int
		}
		var escaped []string
		var browserSaw []browserRequest
		var browserSession []*http.Cookie
		toMaster := httputil.NewSingleHostReverseProxy(master)
		toMaster.ModifyResponse = func(resp *http.Response) error {
			if strings.Contains(resp.Request.UserAgent(), locusttest.BrowserUserAgent) {
				mu.Lock()
				browserSaw = append(browserSaw, browserRequest{resp.Request.Method, resp.Request.URL.Path, resp.StatusCode})
				mu.Unlock()
			}
			return nil
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/locust/", func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.UserAgent(), locusttest.BrowserUserAgent) {
				mu.Lock()
				for _, c := range browserSession {
					r.AddCookie(c)
				}
				mu.Unlock()
			}
			toMaster.ServeHTTP(w, r)
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			escaped = append(escaped, r.Method+" "+r.URL.Path)
			mu.Unlock()
			http.NotFound(w, r)
		})
		proxy := httptest.NewServer(mux)
		t.Cleanup(proxy.Close)

		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		get := func(u string) (*http.Response, string) {
			t.Helper()
			resp, err := browser.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		locusttest.WaitFor(t, time.Now().Add(45*time.Second), "the UI through the proxy", func() bool {
			resp, err := browser.Get(proxy.URL + "/locust/")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == http.StatusOK
		})
		loadsAssets := func(page *http.Response, body string) int {
			t.Helper()
			n := 0
			for _, m := range assetRef.FindAllStringSubmatch(body, -1) {
				ref, err := page.Request.URL.Parse(m[1])
				if err != nil {
					t.Fatal(err)
				}
				if resp, _ := get(ref.String()); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ref.Path, "/locust/") {
					t.Errorf("%s references %s: %s", page.Request.URL.Path, ref.Path, resp.Status)
				}
				n++
			}
			if n == 0 {
				t.Errorf("%s references no asset:\n%s", page.Request.URL.Path, body)
			}
			return n
		}

		// Without a session the UI sends the browser to its login page,
		// under the path.
		loginPage, body := get(proxy.URL + "/locust/")
		if loginPage.Request.URL.Path != "/locust/login" || loginPage.StatusCode != http.StatusOK {
			t.Fatalf("GET /locust/ without a session ended at %s (%s); want /locust/login", loginPage.Request.URL.Path, loginPage.Status)
		}
		assets := loadsAssets(loginPage, body)
		// The page's form posts where authArgs says (Auth.tsx: <form
		// action={usernamePasswordCallback} method='POST'>).
		m := regexp.MustCompile(`window\.authArgs = (\{.*\})`).FindStringSubmatch(body)
		var auth struct {
			Callback string `json:"username_password_callback"`
		}
		if m == nil || json.Unmarshal([]byte(m[1]), &auth) != nil || !strings.HasPrefix(auth.Callback, "/locust/") {
			t.Fatalf("the login page's form posts to %q; want a path under /locust/\n%s", auth.Callback, body)
		}
		resp, err := browser.PostForm(proxy.URL+auth.Callback, url.Values{"username": {"team"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		index, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Request.URL.Path != "/locust/" || resp.StatusCode != http.StatusOK || !strings.Contains(string(index), "window.templateArgs") {
			t.Fatalf("the login form ended at %s (%s); want the UI at /locust/", resp.Request.URL.Path, resp.Status)
		}
		assets += loadsAssets(resp, string(index))
		// The UI's API calls are relative to its page
		// (webui/src/redux/api/swarm.ts; the reports' links from 2.32.4).
		for _, api := range []string{"stats/requests", "tasks", "exceptions", "./stats/requests/csv"} {
			u, _ := resp.Request.URL.Parse(api)
			if r, _ := get(u.String()); r.StatusCode != http.StatusOK {
				t.Errorf("the UI's call %s: %s", u.Path, r.Status)
			}
		}

		// A browser runs the pages' scripts (Locust's React app): without
		// a session the login page renders its form, posting under the
		// path; with the session it renders the UI, whose first API call
		// (useGetStatsQuery: stats/requests, relative to the page,
		// webui/src/redux/api/swarm.ts) must reach Locust under the path.
		t.Run("browser", func(t *testing.T) {
			chromium := locusttest.FindBrowser(t)
			dom := chromium.DumpDOM(t, proxy.URL+"/locust/")
			for _, want := range []string{`action="` + auth.Callback + `"`, `name="username"`, `name="password"`} {
				if !strings.Contains(dom, want) {
					t.Errorf("the login page as the browser renders it has no %s:\n%s", want, dom)
				}
			}
			mu.Lock()
			// The session the login gave, as its last answer set it (the
			// cookie's path is the UI's, /locust).
			browserSession = nil
			for _, c := range resp.Cookies() {
				if c.Name == "locust_eks_session" {
					browserSession = append(browserSession, &http.Cookie{Name: c.Name, Value: c.Value})
				}
			}
			if len(browserSession) == 0 {
				t.Fatalf("the login's answer set no locust_eks_session cookie: %q", resp.Header.Values("Set-Cookie"))
			}
			loginLoads := len(browserSaw)
			mu.Unlock()
			dom = chromium.DumpDOM(t, proxy.URL+"/locust/")
			// No test has run yet: the UI shows its swarm form
			// (webui/src/components/SwarmForm/SwarmForm.tsx).
			if !strings.Contains(dom, ">Start new load test<") {
				t.Errorf("the UI as the browser renders it with the session has no swarm form:\n%s", dom)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, req := range browserSaw {
				if req.status >= 400 {
					t.Errorf("the browser's request failed: %+v", req)
				}
			}
			ui := browserSaw[loginLoads:]
			if !slices.Contains(ui, browserRequest{"GET", "/locust/stats/requests", http.StatusOK}) {
				t.Errorf("the browser's UI did not get /locust/stats/requests; its requests: %v", ui)
			}
			t.Logf("the browser loaded the login page with %d requests and the UI with %d: %v", loginLoads, len(ui), ui)
		})

		// The command, with the proxy's address and path as the master's.
		env := map[string]string{"LOCUST_EKS_WEB_USERNAME": "team", "LOCUST_EKS_WEB_PASSWORD": password}
		code, stdout, stderr := runCommand(context.Background(), env, "--stack", "local", "--master-url", proxy.URL+"/locust",
			"--users", "4", "--spawn-rate", "4", "--run-time", "3s", "--expect-workers", "2", "--wait-workers", "60s",
			"--progress-interval", "1s", "--max-fail-ratio", "0", "--results-dir", t.TempDir())
		if code != exitOK {
			t.Fatalf("exit %d through the proxy\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if served := c.target.Hits()["GET /productpage"]; s.Stats.Total.Requests == 0 || served != s.Stats.Total.Requests {
			t.Errorf("the target served %d requests, the summary through the proxy counts %d", served, s.Stats.Total.Requests)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(escaped) > 0 {
			t.Errorf("requests left the path /locust: %v", escaped)
		}
		t.Logf("Locust %s under /locust behind a proxy: login page, form and UI with %d assets, the UI's API calls, and a run of %d requests (as served), all under the path",
			l.Version, assets, s.Stats.Total.Requests)
	})
}

// TestRunOverTheMastersOwnTLS runs the master rendered for a load balancer
// with Locust's own TLS: it serves only HTTPS, from the Secret's files. The
// command runs a whole test over it, accepting the stack's certificate
// only: with another certificate pinned it refuses to talk (exit 2), and a
// plain-HTTP client gets nothing from the port.
func TestRunOverTheMastersOwnTLS(t *testing.T) {
	t.Parallel()
	locusttest.Each(t, func(t *testing.T, l *locusttest.Locust) {
		if !l.AtLeast(2, 21) {
			t.Logf("Locust %s has no --web-login, which an exposure needs", l.Version)
			return
		}
		if err := components.ValidateWebExposureImage("locustio/locust:" + l.Version); err != nil {
			// What holds for this version is the refusal itself.
			if l.AtLeast(2, 38) {
				t.Errorf("the stack refuses to expose Locust %s, past 2.37.2: %v", l.Version, err)
			}
			t.Logf("the stack refuses to expose Locust %s, as it must below 2.37.2: %v", l.Version, err)
			return
		}
		const password = "tls-login-password-44"
		cert, key := testcert.SelfSigned(t, "locust.example.com")
		c := startClusterWith(t, l, &fakeapps.BookinfoProductPage{}, 2,
			&components.WebLogin{Username: "team", Password: pulumi.ToSecret(pulumi.String(password)).(pulumi.StringOutput)},
			func(a *components.LocustClusterArgs) {
				a.WebExposure = &components.WebExposure{SourceRanges: []string{"203.0.113.0/24"}, LoadBalancer: &components.WebLoadBalancer{
					InternetFacing: true, TLS: &components.WebTLS{CertificatePEM: cert, KeyPEM: pulumi.ToSecret(pulumi.String(key)).(pulumi.StringOutput)},
				}}
			})
		if !strings.HasPrefix(c.webURL, "https://") {
			t.Fatalf("master at %s; want https", c.webURL)
		}
		plainURL := "http://" + strings.TrimPrefix(c.webURL, "https://") + "/"
		locusttest.WaitFor(t, time.Now().Add(45*time.Second), "the master's TLS port", func() bool {
			resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(plainURL)
			if err == nil {
				resp.Body.Close()
			}
			// Locust's HTTPS server answers plain HTTP with an error or
			// closes the connection; either way the port is up.
			return err == nil || !strings.Contains(err.Error(), "connection refused")
		})
		if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plainURL); err == nil && resp.StatusCode < 400 {
			t.Errorf("plain HTTP to the TLS port: %s; want no page", resp.Status)
		}
		dir := t.TempDir()
		certFile, otherFile := filepath.Join(dir, "master.pem"), filepath.Join(dir, "other.pem")
		other, _ := testcert.SelfSigned(t, "locust.example.com")
		for f, pemText := range map[string]string{certFile: cert, otherFile: other} {
			if err := os.WriteFile(f, []byte(pemText), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := map[string]string{"LOCUST_EKS_WEB_USERNAME": "team", "LOCUST_EKS_WEB_PASSWORD": password}
		args := []string{"--stack", "local", "--master-url", c.webURL, "--users", "4", "--spawn-rate", "4", "--run-time", "3s",
			"--expect-workers", "2", "--wait-workers", "60s", "--progress-interval", "1s", "--max-fail-ratio", "0"}
		code, stdout, stderr := runCommand(context.Background(), env, append(args, "--master-certificate", otherFile, "--results-dir", t.TempDir())...)
		if code != exitCouldNotRun || !strings.Contains(stderr, "another certificate") {
			t.Errorf("with another certificate pinned: exit %d, stderr %q; want %d, naming the certificate", code, stderr, exitCouldNotRun)
		}
		code, stdout, stderr = runCommand(context.Background(), env, append(args, "--master-certificate", certFile, "--results-dir", t.TempDir())...)
		if code != exitOK {
			t.Fatalf("exit %d over TLS\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		s := readSummary(t, resultDir(t, stdout))
		if served := c.target.Hits()["GET /productpage"]; s.Stats.Total.Requests == 0 || served != s.Stats.Total.Requests {
			t.Errorf("the target served %d requests, the summary over TLS counts %d", served, s.Stats.Total.Requests)
		}
		// The metrics port stays plain HTTP, for Prometheus inside the
		// cluster, whatever the web port speaks.
		resp, err := http.Get(c.metricsURL + "/metrics")
		if err != nil {
			t.Fatalf("/metrics in plain HTTP beside Locust's own TLS: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "locust_requests_total") {
			t.Errorf("/metrics in plain HTTP beside Locust's own TLS: %s\n%.300s", resp.Status, body)
		}
		t.Logf("Locust %s over its own TLS: another certificate refused (exit 2); with the stack's pinned, a run of %d requests, as served; /metrics in plain HTTP",
			l.Version, s.Stats.Total.Requests)
	})
}

// TestForwardedURLFollowsTheExposure: through its port-forward the command
// speaks what the master serves: https with Locust's own TLS, under the
// Ingress's sub-path, as the stack's outputs say.
func TestForwardedURLFollowsTheExposure(t *testing.T) {
	for _, tc := range []struct {
		outputs, want string
	}{
		{`{}`, "http://127.0.0.1:4000"},
		{`{"webAddress":"http://tools.example.com/locust/","webPath":"/locust"}`, "http://127.0.0.1:4000/locust"},
		{`{"webAddress":"https://a1.elb.us-east-1.amazonaws.com/","webPath":"","webTlsCertificate":"-----BEGIN CERTIFICATE-----\n"}`, "https://127.0.0.1:4000"},
	} {
		var out stackoutputs.Outputs
		if err := json.Unmarshal([]byte(tc.outputs), &out); err != nil {
			t.Fatal(err)
		}
		if got := forwardedURL(out, 4000); got != tc.want {
			t.Errorf("outputs %s: %s, want %s", tc.outputs, got, tc.want)
		}
	}
	o := options{set: map[string]bool{}}
	o.applyOutputs(stackoutputs.Outputs{WebTLSCertificate: "pem", LoadTest: &stackoutputs.LoadTest{RunTime: "1m0s"}})
	if o.masterCertificatePEM != "pem" {
		t.Errorf("the stack's webTlsCertificate is not the pinned certificate: %q", o.masterCertificatePEM)
	}
}
