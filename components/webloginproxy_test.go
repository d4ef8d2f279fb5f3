package components

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestWebBehindProxyEnv: the master is told it sits behind a proxy exactly
// when people reach it through an Ingress; a load balancer keeps clients'
// own addresses (externalTrafficPolicy Local), and a header there would be
// the client's own say.
func TestWebBehindProxyEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exposure *WebExposure
		want     string
	}{
		{"ingress", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/", ControllerNamespace: "ingress-nginx"}}, "1"},
		{"ALB", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, Ingress: &WebIngress{ClassName: "alb", Path: "/",
			Annotations: map[string]string{ALBTargetTypeAnnotation: "ip"}}}, "1"},
		{"load balancer", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}, ""},
		{"private", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := loginArgs(t, "locustio/locust:2.46.7")
			args.WebExposure = tc.exposure
			got := ""
			for _, e := range deploy(t, "loadtest", args).container("master").Env {
				if e.Name == webBehindProxyEnv {
					got = e.Value
				}
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", webBehindProxyEnv, got, tc.want)
			}
		})
	}
}

// TestWebLoginBehindAProxyOnRealLocust: a master rendered for an Ingress
// counts wrong logins per client as the proxy saw it, the last
// X-Forwarded-For entry (what ALB and ingress-nginx append), not per the
// proxy's own address, which every client shares; entries before it, the
// client's own say, are ignored; the port-forward's connections (from
// 127.0.0.1) are counted as themselves whatever header they carry.
func TestWebLoginBehindAProxyOnRealLocust(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		exposure := &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/", ControllerNamespace: "ingress-nginx"}}
		if err := ValidateWebExposureImage("locustio/locust:" + l.Version); err != nil {
			t.Logf("Locust %s is never exposed (%v): nothing sits behind a proxy", l.Version, err)
			return
		}
		p, _, master := startLoginMasterProcess(t, l, exposure, "")
		if !slices.Contains(p.masterEnv, webBehindProxyEnv+"=1") {
			t.Fatalf("the rendered master's environment lacks %s=1: %v", webBehindProxyEnv, p.masterEnv)
		}
		const proxy = "127.0.0.40"
		for _, tc := range []struct{ from, forwardedFor string }{
			{proxy, "203.0.113.5"},
			{proxy, "198.51.100.7, 203.0.113.5"}, // the first entry is the client's own say
			{proxy, "203.0.113.6"},
			{proxy, "not an address"},
			{"127.0.0.1", "203.0.113.9"}, // the port-forward
		} {
			if got := wrongLoginVia(t, p.webURL, tc.from, tc.forwardedFor); got != "refused" {
				t.Errorf("a wrong login from %s forwarded for %q: %s; want refused", tc.from, tc.forwardedFor, got)
			}
		}
		counts := wrongLoginCounts(master.Output())
		for address, want := range map[string][]int{"203.0.113.5": {1, 2}, "203.0.113.6": {1}, proxy: {1}, "127.0.0.1": {1}, "198.51.100.7": nil, "203.0.113.9": nil} {
			if !slices.Equal(counts[address], want) {
				t.Errorf("the master counted wrong logins from %s as %v in a row; want %v (all: %v)", address, counts[address], want, counts)
			}
		}
	})
}

// wrongLoginVia posts a wrong login from address with an X-Forwarded-For
// header, as a proxy forwards it, and says what came of it.
func wrongLoginVia(t *testing.T, webURL, address, forwardedFor string) string {
	t.Helper()
	form := url.Values{"username": {"team"}, "password": {"wrong"}}
	req, err := http.NewRequest(http.MethodPost, webURL+"/locust-eks/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := clientFrom(address).Do(req)
	if err != nil {
		return err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if to, _ := resp.Location(); resp.StatusCode == http.StatusFound && to != nil && strings.HasSuffix(to.Path, "/login") {
		return "refused"
	}
	return resp.Status
}
