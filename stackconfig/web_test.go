package stackconfig

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/testcert"
)

// login turns the web login on, as an exposure needs.
var login = map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery"}

func with(sets ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, s := range sets {
		maps.Copy(out, s)
	}
	return out
}

// TestWebExposureConfig: each choice reads into what the component takes;
// an internal load balancer of a stack that creates its VPC lets in that
// VPC unless told otherwise.
func TestWebExposureConfig(t *testing.T) {
	cert, key := testcert.SelfSigned(t, "locust.example.com")
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	for _, tc := range []struct {
		name, stack string
		set         map[string]string
		want        WebExposure
	}{
		{"internal load balancer in the stack's VPC", "dev", with(login, map[string]string{"webExposure": "loadBalancer"}),
			WebExposure{Kind: ExposeLoadBalancer, SourceRanges: []string{"10.0.0.0/16"}}},
		{"internet-facing with ACM", "dev", with(login, map[string]string{"webExposure": "loadBalancer", "webLoadBalancerScheme": "internet-facing",
			"webSourceRanges": `["203.0.113.0/24"]`, "webCertificateArn": arn}),
			WebExposure{Kind: ExposeLoadBalancer, InternetFacing: true, SourceRanges: []string{"203.0.113.0/24"}, CertificateARN: arn}},
		{"Locust's own TLS", "local", with(login, map[string]string{"webExposure": "loadBalancer", "webSourceRanges": `["10.0.0.0/8"]`,
			"webTlsCertificate": cert, "webTlsKey": key}),
			WebExposure{Kind: ExposeLoadBalancer, SourceRanges: []string{"10.0.0.0/8"}, TLSCertificate: cert, TLSKey: key}},
		{"ingress on a sub-path", "local", with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "nginx",
			"webIngressHost": "locust.example.com", "webPath": "/locust", "webIngressControllerNamespace": "ingress-nginx",
			"webIngressTlsSecret": "locust-tls", "webIngressAnnotations": `["nginx.ingress.kubernetes.io/proxy-body-size=1m"]`}),
			WebExposure{Kind: ExposeIngress, IngressClass: "nginx", IngressHost: "locust.example.com", Path: "/locust",
				IngressControllerNamespace: "ingress-nginx", IngressTLSSecret: "locust-tls",
				IngressAnnotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "1m"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, tc.stack)
			maps.Copy(values, tc.set)
			cfg, err := Parse(lookupIn(values), nil, available)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Locust.WebExposure
			if got == nil {
				t.Fatal("no exposure")
			}
			if tc.want.IngressAnnotations == nil && tc.want.Kind == ExposeIngress {
				tc.want.IngressAnnotations = map[string]string{}
			}
			if got.Kind != tc.want.Kind || got.InternetFacing != tc.want.InternetFacing || !slices.Equal(got.SourceRanges, tc.want.SourceRanges) ||
				got.CertificateARN != tc.want.CertificateARN || got.TLSCertificate != tc.want.TLSCertificate || got.TLSKey != tc.want.TLSKey ||
				got.IngressClass != tc.want.IngressClass || got.IngressHost != tc.want.IngressHost || (got.Kind == ExposeIngress && got.Path != tc.want.Path) ||
				got.IngressControllerNamespace != tc.want.IngressControllerNamespace || got.IngressTLSSecret != tc.want.IngressTLSSecret ||
				(got.Kind == ExposeIngress && !maps.Equal(got.IngressAnnotations, tc.want.IngressAnnotations)) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	values := stackValues(t, "dev")
	if cfg, err := Parse(lookupIn(values), nil, available); err != nil || cfg.Locust.WebExposure != nil {
		t.Errorf("the default: %v, %+v; want private", err, cfg.Locust.WebExposure)
	}
}

// TestWebExposureRefusals: each unsafe or impossible setting is refused,
// naming the key, and a key's secret value is never shown.
func TestWebExposureRefusals(t *testing.T) {
	cert, key := testcert.SelfSigned(t, "locust.example.com")
	otherCert, _ := testcert.SelfSigned(t, "locust.example.com")
	lb := with(login, map[string]string{"webExposure": "loadBalancer"})
	ingress := with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "nginx", "webIngressControllerNamespace": "ingress-nginx"})
	for _, tc := range []struct {
		name, stack string
		set         map[string]string
		key, value  string
		allowed     string
	}{
		{"exposure without the login", "dev", map[string]string{"webExposure": "loadBalancer"}, "webExposure", `"loadBalancer"`, "needs webLogin true"},
		{"unknown choice", "dev", with(login, map[string]string{"webExposure": "nodePort"}), "webExposure", `"nodePort"`, "one of private, loadBalancer, ingress"},
		{"a load balancer key while private", "dev", map[string]string{"webLoadBalancerScheme": "internet-facing"}, "webLoadBalancerScheme", `"internet-facing"`, "must be empty unless webExposure is loadBalancer or ingress"},
		{"an ingress key on a load balancer", "dev", with(lb, map[string]string{"webIngressClass": "nginx"}), "webIngressClass", `"nginx"`, "must be empty unless webExposure is ingress"},
		{"internet-facing without ranges", "dev", with(lb, map[string]string{"webLoadBalancerScheme": "internet-facing", "webCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"}),
			"webSourceRanges", "[]", "open the UI to the whole internet"},
		{"internet-facing in plain text", "dev", with(lb, map[string]string{"webLoadBalancerScheme": "internet-facing", "webSourceRanges": `["203.0.113.0/24"]`}),
			"webLoadBalancerScheme", `"internet-facing"`, "needs TLS"},
		{"internal, outside the stack's VPC", "local", lb, "webSourceRanges", "[]", "does not know its addresses"},
		{"a certificate of another region", "dev", with(lb, map[string]string{"webCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"}),
			"webCertificateArn", `"arn:aws:acm:eu-west-1`, "takes only certificates of its own region"},
		{"a range with host bits", "dev", with(lb, map[string]string{"webSourceRanges": `["10.0.0.1/16"]`}), "webSourceRanges", `"10.0.0.1/16"`, "host bits"},
		{"a key without its certificate", "local", with(lb, map[string]string{"webSourceRanges": `["10.0.0.0/8"]`, "webTlsKey": key}), "webTlsCertificate", `""`, "must be set with webTlsKey"},
		{"a key of another certificate", "local", with(lb, map[string]string{"webSourceRanges": `["10.0.0.0/8"]`, "webTlsCertificate": otherCert, "webTlsKey": key}),
			"webTlsKey", "a value (not shown)", "must be the PEM private key of webTlsCertificate"},
		{"two ways to TLS", "dev", with(lb, map[string]string{"webTlsCertificate": cert, "webTlsKey": key,
			"webCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"}),
			"webTlsCertificate", "a certificate", "either the load balancer ends TLS"},
		{"a sub-path on Locust 2.24", "local", with(ingress, map[string]string{"webPath": "/locust", "image": "locustio/locust:2.24.0"}),
			"image", `"locustio/locust:2.24.0"`, "which came with 2.32.4"},
		{"a path ending in a slash", "local", with(ingress, map[string]string{"webPath": "/locust/"}), "webPath", `"/locust/"`, "not end with one"},
		{"an ingress no one reaches", "local", with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "nginx"}),
			"webIngressControllerNamespace", `""`, "or webSourceRanges"},
		{"an ingress without a class", "local", with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressControllerNamespace": "ingress-nginx"}),
			"webIngressClass", `""`, "IngressClass"},
		{"an annotation without a value", "local", with(ingress, map[string]string{"webIngressAnnotations": `["alb.ingress.kubernetes.io/scheme"]`}),
			"webIngressAnnotations", `"alb.ingress.kubernetes.io/scheme"`, "key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, tc.stack)
			maps.Copy(values, tc.set)
			_, err := Parse(lookupIn(values), nil, available)
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("Parse: %v; want a *stackconfig.Error", err)
			}
			if len(cfgErr.Problems) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(cfgErr.Problems), err)
			}
			msg := err.Error()
			for _, want := range []string{tc.key + ": got " + tc.value, tc.allowed} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "correct-horse") {
				t.Errorf("the message shows a secret:\n%s", msg)
			}
		})
	}
	// A key stored in plain text is refused, and not shown.
	values := stackValues(t, "local")
	maps.Copy(values, with(lb, map[string]string{"webSourceRanges": `["10.0.0.0/8"]`, "webTlsCertificate": cert, "webTlsKey": key}))
	plain := func(k string) (string, bool, bool) {
		v, ok := values[k]
		return v, ok, k == "webPassword"
	}
	if _, err := Parse(plain, nil, available); err == nil || !strings.Contains(err.Error(), "webTlsKey: got a plain-text value (not shown)") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("a plain-text webTlsKey: %v; want it refused, unshown", err)
	}
}
