package components

import (
	"strings"
	"testing"
)

// TestWebExposureLocustFloor: an exposed UI needs Locust 2.37.2 or later,
// the first where POST /user needs the session like every other route;
// a private UI with the login keeps running on older images.
func TestWebExposureLocustFloor(t *testing.T) {
	exposure := func() *WebExposure {
		return &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}
	}
	for _, tc := range []struct {
		image string
		want  string // "" for accepted
	}{
		{"locustio/locust:2.24.0", "Locust 2.24.0 answers POST /user without a session"},
		{"locustio/locust:2.37.1", "every route needs the login from 2.37.2"},
		{"registry.example.com/locust:prod", "its tag does not say which Locust it runs"},
		{"locustio/locust:2.37.2", ""},
		{"locustio/locust:2.46.3-python3.12", ""},
	} {
		_, err := newClusterSpec("loadtest", func() *LocustClusterArgs {
			a := loginArgs(t, tc.image)
			a.WebExposure = exposure()
			return a
		}())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s exposed: refused, %v", tc.image, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s exposed: %v; want an error with %q", tc.image, err, tc.want)
		}
	}
	if _, err := newClusterSpec("loadtest", loginArgs(t, "locustio/locust:2.24.0")); err != nil {
		t.Errorf("a private UI with the login on 2.24.0: %v", err)
	}
}
