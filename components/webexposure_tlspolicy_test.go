package components

import "testing"

// TestWebLoadBalancerTLSPolicy: the NLB's TLS listener is asked for a TLS
// 1.2-and-later policy under the in-tree controller's own annotation
// (cloud-provider-aws aws.go: ServiceAnnotationLoadBalancerSSLNegotiationPolicy);
// without it the listener gets ELBSecurityPolicy-2016-08, TLS 1.0 included.
// A TCP listener (no ACM certificate) has no policy to set.
func TestWebLoadBalancerTLSPolicy(t *testing.T) {
	const policyAnnotation = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
	for _, tc := range []struct {
		name string
		lb   *WebLoadBalancer
		want string
	}{
		{"ACM certificate", &WebLoadBalancer{InternetFacing: true, CertificateARN: testACMCertificate}, "ELBSecurityPolicy-TLS13-1-2-2021-06"},
		{"plain internal", &WebLoadBalancer{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := deployExposed(t, exposedArgs(t, &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: tc.lb}))
			svc := object(t, m, "kubernetes:core/v1:Service", "loadtest-web")
			if got, _ := field(svc, "metadata", "annotations", policyAnnotation).(string); got != tc.want {
				t.Errorf("%s = %q, want %q", policyAnnotation, got, tc.want)
			}
		})
	}
}
