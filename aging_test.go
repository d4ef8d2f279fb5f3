package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTheStackFilesAge runs the preview of the shipped stack files with the
// clock moved (issue #27 item 6, day2 D8): it passes, or fails only where
// the stack's own kubernetesVersion is really out of EKS support, saying so.
// Each day runs with EKS answering (the mock answers as EKS would that day)
// and with the read denied (the fallback table decides). Before, the
// calendar was a table read against the machine's clock: 1.36 was refused
// although EKS offers it, and a denied or stale table could not be told
// from EKS's word.
func TestTheStackFilesAge(t *testing.T) {
	at := func(day string) time.Time {
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(12 * time.Hour)
	}
	for _, tc := range []struct {
		stack, day string
		set        map[string]string
		deny       bool
		control    string // the control plane's cost detail
		err        string // the refusal; empty: the preview passes
	}{
		{stack: "dev", day: "2026-12-07", control: "1 cluster, standard support"},
		{stack: "dev", day: "2026-12-07", set: map[string]string{"kubernetesVersion": "1.36"}, control: "1 cluster, standard support"},
		{stack: "dev", day: "2026-12-07", set: map[string]string{"kubernetesVersion": "1.36"}, deny: true, control: "1 cluster, standard support"},
		{stack: "dev", day: "2027-04-01", control: "1 cluster, extended support"},
		{stack: "prod", day: "2027-04-01", control: "1 cluster, extended support"},
		{stack: "dev", day: "2027-04-01", deny: true, control: "1 cluster, extended support"},
		{stack: "dev", day: "2028-04-01", err: `kubernetesVersion "1.35" left EKS extended support on 2028-03-27 (eks:DescribeClusterVersions)`},
		{stack: "prod", day: "2028-04-01", err: `kubernetesVersion "1.35" left EKS extended support on 2028-03-27`},
		{stack: "dev", day: "2028-04-01", deny: true, err: `kubernetesVersion "1.35" left EKS extended support on 2028-03-27 (by this program's table`},
		{stack: "dev", day: "2028-04-01", set: map[string]string{"kubernetesVersion": "1.36"}, control: "1 cluster, extended support"},
		{stack: "dev", day: "2028-04-01", set: map[string]string{"kubernetesVersion": "1.36"}, deny: true, control: "1 cluster, standard support"},
		{stack: "dev", day: "2026-12-07", set: map[string]string{"kubernetesVersion": "1.37"},
			err: `kubernetesVersion "1.37": EKS does not offer this version in this region (eks:DescribeClusterVersions). It offers 1.32 (extended support until 2027-03-23)`},
	} {
		name := fmt.Sprintf("%s %s %v denied=%v", tc.stack, tc.day, tc.set, tc.deny)
		t.Run(name, func(t *testing.T) {
			saved := testNow
			testNow = at(tc.day)
			t.Cleanup(func() { testNow = saved })
			if tc.deny {
				denied["aws:eks/getClusterVersions:getClusterVersions"] = "eks:DescribeClusterVersions"
				t.Cleanup(func() { delete(denied, "aws:eks/getClusterVersions:getClusterVersions") })
			}
			s := run(t, tc.stack, tc.set)
			if tc.err != "" {
				if s.err == nil || !strings.Contains(s.err.Error(), tc.err) {
					t.Fatalf("error %v\nwant one containing %q", s.err, tc.err)
				}
				if n := len(s.monitor.Resources()); n != 0 {
					t.Errorf("%d resources registered before the refusal; want none", n)
				}
				return
			}
			if s.err != nil {
				t.Fatal(s.err)
			}
			cost := s.outputs["estimatedHourlyCost"].(map[string]any)
			var control string
			for _, it := range cost["items"].([]any) {
				if item := it.(map[string]any); item["name"] == "EKS control plane" {
					control = item["detail"].(string)
				}
			}
			if control != tc.control {
				t.Errorf("control plane billed as %q, want %q", control, tc.control)
			}
		})
	}
}
