package ekscluster

import (
	"testing"
	"time"
)

// TestParseCreatedAt reads aws.eks.Cluster's createdAt in both formats the
// Terraform AWS provider has written: Go's time.Time.String (5.x,
// aws.ToTime(cluster.CreatedAt).String()) and RFC 3339 (later,
// cluster.CreatedAt.Format(time.RFC3339)), from internal/service/eks.
func TestParseCreatedAt(t *testing.T) {
	want := time.Date(2026, 11, 30, 9, 15, 2, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-11-30 09:15:02 +0000 UTC", true},
		{"2026-11-30 09:15:02.000 +0000 UTC", true},
		{"2026-11-30T09:15:02Z", true},
		{"2026-11-30T10:15:02+01:00", true},
		{"30 Nov 2026", false},
		{"", false},
	} {
		got, err := parseCreatedAt(tc.in)
		if tc.ok && (err != nil || !got.Equal(want)) {
			t.Errorf("parseCreatedAt(%q) = %v, %v; want %v", tc.in, got, err, want)
		}
		if !tc.ok && err == nil {
			t.Errorf("parseCreatedAt(%q) = %v; want an error", tc.in, got)
		}
	}
}
