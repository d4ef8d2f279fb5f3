package stackconfig

import (
	"errors"
	"strings"
	"testing"
)

// TestKubernetesVersionFollowsTheEKSCalendar: the versions allowed, refused
// and warned about change with the day, from the EKS release calendar, not
// from a list someone must remember to edit. 1.34 left standard support on
// 2026-12-02 (EKS user guide, kubernetes-versions.adoc): before, the
// program kept offering it as standard.
func TestKubernetesVersionFollowsTheEKSCalendar(t *testing.T) {
	cases := []struct {
		day, version string
		refused      string // in the problem; empty: accepted
		warned       string // in the warning; empty: none
	}{
		{"2026-12-01", "1.34", "", ""},
		{"2026-12-01", "1.35", "", ""},
		{"2026-12-02", "1.34", "", "left EKS standard support on 2026-12-02"},
		{"2026-12-02", "1.35", "", ""},
		{"2026-12-02", "1.33", "", "billed as extended support ($0.60 instead of $0.10 per hour) until 2027-07-29"},
		{"2026-12-02", "1.36", "1.35 in standard support (1.32, 1.33, 1.34, 1.35 known", ""},
		{"2026-12-01", "1.31", "1.34 or 1.35 in standard support", ""},
		{"2027-12-02", "1.34", "left EKS extended support on 2027-12-02", ""},
		{"2027-12-01", "1.34", "", "until 2027-12-02"},
	}
	saved := today
	t.Cleanup(func() { today = saved })
	for _, tc := range cases {
		t.Run(tc.day+" "+tc.version, func(t *testing.T) {
			today = func() string { return tc.day }
			values := stackValues(t, "dev")
			values["kubernetesVersion"] = tc.version
			c, err := Parse(lookupIn(values), nil, available)
			if tc.refused != "" {
				var invalid *Error
				if !errors.As(err, &invalid) || len(invalid.Problems) != 1 || invalid.Problems[0].Key != "kubernetesVersion" ||
					!strings.Contains(invalid.Problems[0].Allowed, tc.refused) {
					t.Fatalf("got %v; want kubernetesVersion refused with %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			warnings := strings.Join(c.Warnings, "\n")
			if tc.warned == "" && warnings != "" || !strings.Contains(warnings, tc.warned) {
				t.Errorf("warnings %q; want %q", warnings, tc.warned)
			}
		})
	}
}
