package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		outputs   auto.OutputMap
		expired   bool
		bad       bool
		reasonHas string
	}{
		{"no expiry", auto.OutputMap{"namespace": {Value: "locust"}}, false, false, "no expiry"},
		{"expired", auto.OutputMap{"expiresAt": {Value: "2026-12-02T16:30:00Z"}}, true, false, "expired 2026-12-02T16:30:00Z, 1h30m0s ago"},
		{"at the minute", auto.OutputMap{"expiresAt": {Value: "2026-12-02T18:00:00Z"}}, true, false, "0s ago"},
		{"pushed back", auto.OutputMap{"expiresAt": {Value: "2026-12-03T02:00:00Z"}}, false, false, "in 8h0m0s"},
		{"not a time", auto.OutputMap{"expiresAt": {Value: "tomorrow"}}, false, true, `"tomorrow" is no time`},
	} {
		v := decide(tc.outputs, now)
		if v.expired != tc.expired || v.unreadable != tc.bad || !strings.Contains(v.reason, tc.reasonHas) {
			t.Errorf("%s: %+v, want expired %v, unreadable %v, a reason with %q", tc.name, v, tc.expired, tc.bad, tc.reasonHas)
		}
	}
}
