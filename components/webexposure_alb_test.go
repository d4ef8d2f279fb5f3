package components

import (
	"strings"
	"testing"
)

// TestWebIngressForALB: an Ingress for the AWS Load Balancer Controller
// gets ip targets (the master's Service is ClusterIP, which instance
// targets cannot reach) and a health check on the login page under the
// base path (200 without a session, where "/" answers 302), unless the
// user gave them; another controller's Ingress gets neither; instance
// targets are refused.
func TestWebIngressForALB(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ingress     WebIngress
		targetType  string
		healthCheck string
	}{
		{"alb at the root", WebIngress{ClassName: "alb", Path: "/"}, "ip", "/login"},
		{"alb on a sub-path", WebIngress{ClassName: "alb", Path: "/locust"}, "ip", "/locust/login"},
		{"another class with ALB annotations", WebIngress{ClassName: "shared-alb", Path: "/",
			Annotations: map[string]string{"alb.ingress.kubernetes.io/scheme": "internal"}}, "ip", "/login"},
		{"alb with the user's own", WebIngress{ClassName: "alb", Path: "/", Annotations: map[string]string{
			ALBTargetTypeAnnotation: "ip", "alb.ingress.kubernetes.io/healthcheck-path": "/login?probe"}}, "ip", "/login?probe"},
		{"nginx", WebIngress{ClassName: "nginx", Path: "/"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.ingress
			in.ControllerNamespace = "kube-system"
			// The ALB reaches the pods from its subnets (ValidateALBIngress).
			m, _ := deployExposed(t, exposedArgs(t, &WebExposure{Ingress: &in, SourceRanges: []string{"10.0.0.0/16"}}))
			ing := object(t, m, "kubernetes:networking.k8s.io/v1:Ingress", "loadtest-web")
			got, _ := field(ing, "metadata", "annotations", ALBTargetTypeAnnotation).(string)
			if got != tc.targetType {
				t.Errorf("target-type %q, want %q", got, tc.targetType)
			}
			got, _ = field(ing, "metadata", "annotations", "alb.ingress.kubernetes.io/healthcheck-path").(string)
			if got != tc.healthCheck {
				t.Errorf("healthcheck-path %q, want %q", got, tc.healthCheck)
			}
		})
	}
	in := &WebIngress{ClassName: "alb", Path: "/", ControllerNamespace: "kube-system", Annotations: map[string]string{ALBTargetTypeAnnotation: "instance"}}
	_, err := newClusterSpec("loadtest", exposedArgs(t, &WebExposure{Ingress: in}))
	if err == nil || !strings.Contains(err.Error(), ALBTargetTypeAnnotation+"=ip") {
		t.Errorf("alb with instance targets: %v; want it refused, naming %s=ip", err, ALBTargetTypeAnnotation)
	}
}
