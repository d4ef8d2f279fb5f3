package stackconfig

import (
	"maps"
	"strings"
	"testing"
)

// TestWebExposureLocustFloor: with webExposure, an image older than Locust
// 2.37.2 (where POST /user still needs no session) is refused at preview,
// naming image; the same image with a private UI is taken.
func TestWebExposureLocustFloor(t *testing.T) {
	lb := with(login, map[string]string{"webExposure": "loadBalancer"})
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"load balancer on 2.37.1", with(lb, map[string]string{"image": "locustio/locust:2.37.1"}), `image: got "locustio/locust:2.37.1"`},
		{"ingress on 2.24.0", with(login, map[string]string{"webPlainHttp": "true", "webExposure": "ingress", "webIngressClass": "nginx",
			"webIngressControllerNamespace": "ingress-nginx", "image": "locustio/locust:2.24.0"}), `image: got "locustio/locust:2.24.0"`},
		{"load balancer on 2.37.2", with(lb, map[string]string{"image": "locustio/locust:2.37.2"}), ""},
		{"private on 2.24.0", with(login, map[string]string{"image": "locustio/locust:2.24.0"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := stackValues(t, "dev")
			maps.Copy(values, tc.set)
			_, err := Parse(lookupIn(values), nil, available)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "2.37.2")):
				t.Errorf("%v; want %q naming 2.37.2", err, tc.want)
			}
		})
	}
}
