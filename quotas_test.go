package main

import (
	"strings"
	"testing"
)

// TestServiceQuotasAtPreview: the preview reads the quotas a first up hits
// (issue #27 item 2) and refuses, before anything is registered, a stack
// that alone needs more than the account's quota; a denied read goes on.
// On a new account's defaults dev's planned spot workers (2 x c6i.large, 4
// vCPUs) fit the 5 vCPUs of standard spot, and only its maximum (3, 6 vCPUs)
// is warned about; prod's planned on-demand nodes (a 2-vCPU system node and
// four 4-vCPU worker nodes, 18 vCPUs) are over 5, refused.
func TestServiceQuotasAtPreview(t *testing.T) {
	const quotaToken = "aws:servicequotas/getServiceQuota:getServiceQuota"
	for _, tc := range []struct {
		name, stack string
		newAccount  bool // the vCPU quotas at their AWS defaults
		set         map[string]string
		deny        bool
		err         string
	}{
		{name: "dev, raised quotas", stack: "dev"},
		{name: "prod, raised quotas: 3 EIPs of 5", stack: "prod"},
		{name: "dev on a new account: launches, its maximum warned about", stack: "dev", newAccount: true},
		{name: "dev on a new account with three workers", stack: "dev", newAccount: true, set: map[string]string{"workers": "3"},
			err: "nodeMaxSize, nodeInstanceTypes, nodeCapacityType: this stack needs 6 of the quota All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests, in vCPUs (ec2, code L-34B43A08), whose value in this account is 5"},
		{name: "prod on a new account", stack: "prod", newAccount: true,
			err: "this stack needs 18 of the quota Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, in vCPUs (ec2, code L-1216C47A), whose value in this account is 5"},
		{name: "dev on a new account, the quotas unreadable: warned, not refused", stack: "dev", newAccount: true, deny: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.newAccount {
				withQuota(t, "L-1216C47A", 0)
				withQuota(t, "L-34B43A08", 0)
			}
			if tc.deny {
				denied[quotaToken] = "servicequotas:GetAWSDefaultServiceQuota"
				t.Cleanup(func() { delete(denied, quotaToken) })
			}
			s := run(t, tc.stack, tc.set)
			if tc.err == "" {
				if s.err != nil {
					t.Fatal(s.err)
				}
				return
			}
			if s.err == nil || !strings.Contains(s.err.Error(), tc.err) {
				t.Fatalf("error %v\nwant one containing %q", s.err, tc.err)
			}
			if n := len(s.monitor.Resources()); n != 0 {
				t.Errorf("%d resources registered before the refusal; want none", n)
			}
		})
	}
}
