package stackconfig

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// TestIngressNeedsTLS: an Ingress that would carry the login in plain
// text is refused unless webPlainHttp accepts it, naming the key that
// gives TLS; an internet-facing ALB needs its client ranges
// (inbound-cidrs), whose default is the whole internet.
func TestIngressNeedsTLS(t *testing.T) {
	const arn = "alb.ingress.kubernetes.io/certificate-arn=arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	nginx := with(login, map[string]string{"webExposure": "ingress", "webIngressClass": "nginx", "webIngressControllerNamespace": "ingress-nginx"})
	alb := func(annotations ...string) map[string]string {
		list := `["alb.ingress.kubernetes.io/target-type=ip"`
		for _, a := range annotations {
			list += `,"` + a + `"`
		}
		return with(login, map[string]string{"webExposure": "ingress", "webIngressClass": "alb", "webIngressAnnotations": list + "]"})
	}
	for _, tc := range []struct {
		name       string
		set        map[string]string
		key, value string // the problem, "" when accepted
		allowed    string
	}{
		{name: "nginx in plain text", set: nginx, key: "webIngressTlsSecret", value: `""`, allowed: "set webPlainHttp true to accept that"},
		{name: "nginx in plain text, accepted", set: with(nginx, map[string]string{"webPlainHttp": "true"})},
		{name: "nginx with a TLS Secret", set: with(nginx, map[string]string{"webIngressTlsSecret": "locust-tls"})},
		{name: "ALB without a certificate", set: alb(), key: "webIngressAnnotations", value: "no alb.ingress.kubernetes.io/certificate-arn", allowed: "must give the ALB an ACM certificate"},
		{name: "ALB with a certificate", set: alb(arn)},
		{name: "internet-facing ALB open to all", set: alb(arn, "alb.ingress.kubernetes.io/scheme=internet-facing"),
			key: "webIngressAnnotations", value: `"alb.ingress.kubernetes.io/scheme=internet-facing"`, allowed: "needs alb.ingress.kubernetes.io/inbound-cidrs"},
		{name: "internet-facing ALB for the office", set: alb(arn, "alb.ingress.kubernetes.io/scheme=internet-facing", "alb.ingress.kubernetes.io/inbound-cidrs=203.0.113.0/24")},
		{name: "webPlainHttp on a load balancer", set: with(login, map[string]string{"webExposure": "loadBalancer", "webPlainHttp": "true"}),
			key: "webPlainHttp", value: `"true"`, allowed: "must be empty unless webExposure is ingress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, "dev")
			maps.Copy(values, tc.set)
			_, err := Parse(lookupIn(values), nil, available)
			if tc.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 1 {
				t.Fatalf("Parse: %v; want one problem with %s", err, tc.key)
			}
			if pr := cfgErr.Problems[0]; pr.Key != tc.key || pr.Value != tc.value || !strings.Contains(pr.Allowed, tc.allowed) {
				t.Errorf("problem %+v; want %s %s, allowed containing %q", pr, tc.key, tc.value, tc.allowed)
			}
		})
	}
}
