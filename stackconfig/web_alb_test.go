package stackconfig

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// TestWebIngressALBTargetType: an Ingress the AWS Load Balancer Controller
// serves, by class or by its annotations, is refused with instance targets,
// which cannot reach the master's ClusterIP Service, naming
// webIngressAnnotations and the annotation to give; ip or none is taken
// (the component then sets ip), and nginx is not concerned.
func TestWebIngressALBTargetType(t *testing.T) {
	ingress := func(class, annotations string) map[string]string {
		return with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": class,
			"webSourceRanges": `["10.0.0.0/16"]`, "webIngressAnnotations": annotations})
	}
	for _, tc := range []struct {
		name   string
		set    map[string]string
		refuse bool
	}{
		{"alb with instance targets", ingress("alb", `["alb.ingress.kubernetes.io/target-type=instance"]`), true},
		{"another class with ALB annotations and instance targets", ingress("internal-alb",
			`["alb.ingress.kubernetes.io/scheme=internal","alb.ingress.kubernetes.io/target-type=instance"]`), true},
		{"alb with ip targets", ingress("alb", `["alb.ingress.kubernetes.io/target-type=ip"]`), false},
		{"alb without a target type", ingress("alb", `[]`), false},
		{"nginx", ingress("nginx", `["alb.ingress.kubernetes.io-not/target-type=instance"]`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, "dev")
			maps.Copy(values, tc.set)
			_, err := Parse(lookupIn(values), nil, available)
			if !tc.refuse {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("Parse: %v; want a *stackconfig.Error", err)
			}
			msg := err.Error()
			for _, want := range []string{`webIngressAnnotations: got "alb.ingress.kubernetes.io/target-type=instance"`, "alb.ingress.kubernetes.io/target-type=ip", "ClusterIP"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}
