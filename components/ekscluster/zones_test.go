package ekscluster

import (
	"strings"
	"testing"
)

// TestUnavailableZonesWarning: a chosen zone missing from the zones EC2
// lists as available is named; none missing, no warning.
func TestUnavailableZonesWarning(t *testing.T) {
	for _, tc := range []struct {
		name              string
		chosen, available []string
		want              string
	}{
		{"all available", []string{"us-east-1a", "us-east-1b"}, []string{"us-east-1a", "us-east-1b", "us-east-1d"}, ""},
		{"one impaired", []string{"us-east-1a", "us-east-1b"}, []string{"us-east-1b", "us-east-1d"}, "availability zones [us-east-1a] are not in the state available now"},
		{"none available", []string{"us-east-1a", "us-east-1b"}, nil, "availability zones [us-east-1a us-east-1b] are not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unavailableZonesWarning(tc.chosen, tc.available)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("warning %q; want %q", got, tc.want)
			}
			if tc.want != "" && !strings.Contains(got, "keeps its subnets in the zones it chose") {
				t.Errorf("warning %q does not say the subnets stay", got)
			}
		})
	}
}
