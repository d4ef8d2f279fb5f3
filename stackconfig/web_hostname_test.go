package stackconfig

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/testcert"
)

// TestWebHostname: webHostname reaches the exposure; a name that is not a
// DNS name, that Locust's own certificate does not hold, or that comes
// with an ingress is refused naming the key; and TLS without a name the
// certificate can hold is warned of at preview.
func TestWebHostname(t *testing.T) {
	cert, key := testcert.SelfSigned(t, "locust.example.com")
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	lb := with(login, map[string]string{"webExposure": "loadBalancer"})
	ownTLS := map[string]string{"webTlsCertificate": cert, "webTlsKey": key}
	ingress := with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "nginx", "webIngressControllerNamespace": "ingress-nginx"})
	for _, tc := range []struct {
		name         string
		set          map[string]string
		hostname     string // what the exposure carries, when accepted
		refusedValue string // the value named when refused, with "webHostname"
		allowed      string
		warns        bool // the no-name-a-certificate-holds warning
	}{
		{name: "ACM certificate and a name", set: with(lb, map[string]string{"webCertificateArn": arn, "webHostname": "locust.example.com"}), hostname: "locust.example.com"},
		{name: "own certificate holding the name", set: with(lb, ownTLS, map[string]string{"webHostname": "locust.example.com"}), hostname: "locust.example.com"},
		{name: "ACM certificate, no name", set: with(lb, map[string]string{"webCertificateArn": arn}), warns: true},
		{name: "own certificate, no name", set: with(lb, ownTLS), warns: true},
		{name: "plain, no name", set: lb},
		{name: "ingress with TLS and no host", set: with(ingress, map[string]string{"webIngressTlsSecret": "locust-tls"}), warns: true},
		{name: "ALB with a certificate and no host", set: with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "alb",
			"webIngressAnnotations": `["alb.ingress.kubernetes.io/target-type=ip","alb.ingress.kubernetes.io/certificate-arn=` + arn + `"]`}), warns: true},
		{name: "ingress with TLS and a host", set: with(ingress, map[string]string{"webIngressTlsSecret": "locust-tls", "webIngressHost": "locust.example.com"})},
		{name: "own certificate without the name", set: with(lb, ownTLS, map[string]string{"webHostname": "ui.example.org"}),
			refusedValue: `"ui.example.org"`, allowed: "holds locust.example.com, not ui.example.org"},
		{name: "not a DNS name", set: with(lb, map[string]string{"webHostname": "https://locust.example.com/"}),
			refusedValue: `"https://locust.example.com/"`, allowed: "the DNS name the UI is opened at"},
		{name: "with an ingress", set: with(ingress, map[string]string{"webHostname": "locust.example.com"}),
			refusedValue: `"locust.example.com"`, allowed: "must be empty unless webExposure is loadBalancer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, "dev")
			maps.Copy(values, tc.set)
			cfg, err := Parse(lookupIn(values), nil, available)
			if tc.refusedValue != "" {
				var cfgErr *Error
				if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 1 {
					t.Fatalf("Parse: %v; want one problem with webHostname", err)
				}
				pr := cfgErr.Problems[0]
				if pr.Key != "webHostname" || pr.Value != tc.refusedValue || !strings.Contains(pr.Allowed, tc.allowed) {
					t.Errorf("problem %+v; want webHostname %s, allowed containing %q", pr, tc.refusedValue, tc.allowed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Locust.WebExposure.Hostname; got != tc.hostname {
				t.Errorf("Hostname %q, want %q", got, tc.hostname)
			}
			warned := false
			for _, w := range cfg.Warnings {
				warned = warned || strings.Contains(w, "which no certificate holds")
			}
			if warned != tc.warns {
				t.Errorf("warnings %q; want the certificate-name warning: %v", cfg.Warnings, tc.warns)
			}
		})
	}
}
