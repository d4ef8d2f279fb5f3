package stackconfig

import (
	"errors"
	"strings"
	"testing"
)

// TestKubernetesVersionIsOnlyCheckedForItsForm: the stack file says which
// minor version it wants; whether EKS runs it is EKS's answer at preview
// (components/ekscluster/versions.go), not a calendar here that goes stale.
// Before, 1.36 was refused although EKS offers it (day2 D8), and the verdict
// moved with the machine's clock.
func TestKubernetesVersionIsOnlyCheckedForItsForm(t *testing.T) {
	for _, tc := range []struct {
		version string
		refused bool
	}{
		{"1.35", false},
		{"1.36", false},
		{"1.40", false},
		{"1.31", false},
		{"1.34.2", true},
		{"v1.35", true},
		{"1", true},
		{"", true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			values := stackValues(t, "dev")
			values["kubernetesVersion"] = tc.version
			c, err := Parse(lookupIn(values), nil, available)
			if tc.refused {
				var invalid *Error
				if !errors.As(err, &invalid) || len(invalid.Problems) != 1 || invalid.Problems[0].Key != "kubernetesVersion" ||
					!strings.Contains(invalid.Problems[0].Allowed, `a Kubernetes minor version like "1.35"`) {
					t.Fatalf("got %v; want kubernetesVersion refused for its form", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %q; the version's support is judged at preview, not here", c.Warnings)
			}
		})
	}
}
