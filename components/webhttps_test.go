package components

import "testing"

// TestWebHTTPSEnv: the master is told that people reach its UI over HTTPS
// (so the plugin makes the session cookie Secure) exactly when something
// serves it so: the load balancer's ACM certificate, Locust's own TLS, the
// Ingress's TLS Secret, or an ALB's HTTPS listener.
func TestWebHTTPSEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exposure *WebExposure
		want     string
	}{
		{"load balancer with ACM", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{CertificateARN: testACMCertificate}}, "1"},
		{"plain internal load balancer", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}, ""},
		{"ingress with a TLS Secret", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/", ControllerNamespace: "ingress-nginx", TLSSecret: "locust-tls"}}, "1"},
		{"ALB with a certificate", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, Ingress: &WebIngress{ClassName: "alb", Path: "/",
			Annotations: map[string]string{"alb.ingress.kubernetes.io/certificate-arn": testACMCertificate}}}, "1"},
		{"ALB listening on HTTP only, whatever the certificate", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, Ingress: &WebIngress{ClassName: "alb", Path: "/",
			Annotations: map[string]string{"alb.ingress.kubernetes.io/certificate-arn": testACMCertificate, "alb.ingress.kubernetes.io/listen-ports": `[{"HTTP": 80}]`}}}, ""},
		{"plain ingress", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/", ControllerNamespace: "ingress-nginx"}}, ""},
		{"private", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := loginArgs(t, "locustio/locust:2.46.3")
			args.WebExposure = tc.exposure
			r := deploy(t, "loadtest", args)
			got := ""
			for _, e := range r.container("master").Env {
				if e.Name == "LOCUST_EKS_WEB_HTTPS" {
					got = e.Value
				}
			}
			if got != tc.want {
				t.Errorf("LOCUST_EKS_WEB_HTTPS = %q, want %q", got, tc.want)
			}
		})
	}
}
