package stackconfig

import (
	"maps"
	"strings"
	"testing"
)

// TestWebLoadBalancerSchemeWarning: the preview says that a change of the
// load balancer's scheme replaces it and changes webAddress, naming the key;
// an ingress or a private UI has no such warning.
func TestWebLoadBalancerSchemeWarning(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want bool
	}{
		{"internal load balancer", with(login, map[string]string{"webExposure": "loadBalancer"}), true},
		{"ingress", with(login, map[string]string{"webExposure": "ingress", "webIngressClass": "nginx",
			"webIngressControllerNamespace": "ingress-nginx", "webIngressTlsSecret": "locust-tls"}), false},
		{"private", map[string]string{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, "dev")
			maps.Copy(values, tc.set)
			cfg, err := Parse(lookupIn(values), nil, available)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "a change of webLoadBalancerScheme replaces") && strings.Contains(w, "webAddress changes") {
					found = true
				}
			}
			if found != tc.want {
				t.Errorf("warnings %q; want the scheme-change warning: %v", cfg.Warnings, tc.want)
			}
		})
	}
}
