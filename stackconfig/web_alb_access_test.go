package stackconfig

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestWebIngressALBAccess: the AWS Load Balancer Controller ignores an
// Ingress's TLS Secret (aws-load-balancer-controller@v2.17.1
// docs/guide/ingress/cert_discovery.md), so one given with an ALB is
// refused; and with ip targets the ALB reaches the master from its own
// addresses in its subnets, so the controller's namespace lets nothing in:
// the source ranges default to the VPC the stack creates, and must be given
// otherwise.
func TestWebIngressALBAccess(t *testing.T) {
	alb := with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "alb", "webIngressControllerNamespace": "kube-system"})
	for _, tc := range []struct {
		name, stack string
		set         map[string]string
		refused     []string // fragments of the error; none: accepted
		ranges      []string
	}{
		{"the stack's VPC holds the ALB's subnets", "dev", alb, nil, []string{"10.0.0.0/16"}},
		{"ranges given", "local", with(alb, map[string]string{"webSourceRanges": `["10.1.0.0/16"]`}), nil, []string{"10.1.0.0/16"}},
		{"another cluster's VPC, no ranges", "local", alb, []string{"webSourceRanges: got []", "not from the controller's pods"}, nil},
		{"a TLS Secret the controller ignores", "dev", with(alb, map[string]string{"webIngressTlsSecret": "tools-example-com"}),
			[]string{`webIngressTlsSecret: got "tools-example-com"`, "certificate-arn"}, nil},
		{"nginx still takes the controller's namespace alone", "local", with(alb, map[string]string{"webIngressClass": "nginx"}), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, tc.stack)
			maps.Copy(values, tc.set)
			cfg, err := Parse(lookupIn(values), nil, available)
			if len(tc.refused) > 0 {
				for _, want := range tc.refused {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("Parse: %v; want a refusal with %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := cfg.Locust.WebExposure.SourceRanges; !slices.Equal(got, tc.ranges) {
				t.Errorf("source ranges %v, want %v", got, tc.ranges)
			}
		})
	}
}
