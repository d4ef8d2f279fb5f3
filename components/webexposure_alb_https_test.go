package components

import (
	"strings"
	"testing"
)

// TestALBServesHTTPS: whether people reach an ALB Ingress over HTTPS (and
// so whether the session cookie is Secure and webAddress https) follows the
// controller's listeners, not the Ingress's TLS Secret:
// aws-load-balancer-controller@v2.17.1 pkg/ingress/model_build_listener.go
// opens the listen-ports given, else HTTPS:443 only with certificate-arn and
// HTTP:80 without.
func TestALBServesHTTPS(t *testing.T) {
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		https       bool
	}{
		{"no certificate, no listen-ports: HTTP:80", map[string]string{}, false},
		{"certificate-arn: HTTPS:443", map[string]string{ALBCertificateAnnotation: arn}, true},
		{"listen-ports naming HTTPS, the certificate discovered", map[string]string{annotationALBListenPorts: `[{"HTTPS": 443}]`}, true},
		{"listen-ports HTTP only, whatever the certificate", map[string]string{annotationALBListenPorts: `[{"HTTP": 8080}]`, ALBCertificateAnnotation: arn}, false},
		{"both listeners", map[string]string{annotationALBListenPorts: `[{"HTTP": 80}, {"HTTPS": 443}]`}, true},
	} {
		e := &WebExposure{Ingress: &WebIngress{ClassName: "alb", Path: "/", Annotations: tc.annotations}}
		if got := e.servedOverHTTPS(); got != tc.https {
			t.Errorf("%s: served over HTTPS %v, want %v", tc.name, got, tc.https)
		}
	}
	// The Secret makes nginx's Ingress HTTPS; the ALB never reads it.
	if !(&WebExposure{Ingress: &WebIngress{ClassName: "nginx", TLSSecret: "tls"}}).servedOverHTTPS() {
		t.Error("nginx with a TLS Secret: not served over HTTPS")
	}
}

// TestALBIngressRefusals: the component refuses an ALB Ingress with a TLS
// Secret it would ignore, or with no source ranges to let the ALB in.
func TestALBIngressRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     WebIngress
		ranges []string
		want   string
	}{
		{"a TLS Secret", WebIngress{ClassName: "alb", Path: "/", TLSSecret: "tls"}, []string{"10.0.0.0/16"}, "ignores an Ingress's TLS Secret"},
		{"the controller's namespace alone", WebIngress{ClassName: "alb", Path: "/", ControllerNamespace: "kube-system"}, nil, "not from the controller's pods"},
	} {
		err := tc.in.validate(tc.ranges, "locustio/locust:2.46.3")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want a refusal with %q", tc.name, err, tc.want)
		}
	}
	ok := WebIngress{ClassName: "alb", Path: "/", ControllerNamespace: "kube-system"}
	if err := ok.validate([]string{"10.0.0.0/16"}, "locustio/locust:2.46.3"); err != nil {
		t.Errorf("an ALB Ingress with source ranges: %v", err)
	}
}
