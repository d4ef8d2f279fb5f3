package main

import (
	"strings"
	"testing"
	"time"
)

// Lifecycles, not calls: the program's AWS-facing checks run through the
// sequence of ups a stack lives through, against one awsAccount that keeps
// what EKS holds between runs and a backend that keeps the last successful
// up's outputs (lastOutputs). Most defects found in review were second-run
// defects, which a mock that forgets between runs cannot show.

// lifecycleStep is one run of the program in a sequence.
type lifecycleStep struct {
	name string
	// caller is who runs it (sts:GetCallerIdentity).
	caller string
	// before changes the account or the backend before the run: time
	// passing, a destroy, an entry added out of band.
	before func(a *awsAccount)
	// wantErr is a part of the error the run must fail with, "" for none. A
	// failed run registers no Kubernetes object and records no outputs.
	wantErr string
}

const (
	deployRole   = "arn:aws:iam::123456789012:role/deploy"
	deploySessn  = "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-1"
	deploySessn2 = "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-2"
	previewRole  = "arn:aws:iam::123456789012:role/ci-preview"
	previewSessn = "arn:aws:sts::123456789012:assumed-role/ci-preview/gh-run-3"
	aliceUser    = "arn:aws:iam::123456789012:user/alice"
	strangerSess = "arn:aws:sts::123456789012:assumed-role/stranger/x"
	ssoSession   = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com"
)

// elapse returns a before that moves the account's clock on by d.
func elapse(d time.Duration) func(*awsAccount) { return func(a *awsAccount) { a.elapse(d) } }

// TestLifecycle runs the shipped dev stack, and dev with its creator and
// administrators recorded, through: the creator's first up, the same
// identity's second, another administrator's, a stranger's, a first up
// interrupted after the cluster exists (outputs unrecorded), destroy, and
// up again.
func TestLifecycle(t *testing.T) {
	destroy := func(a *awsAccount) { a.destroy(); lastOutputs = nil }
	// interrupted is a first up killed once the cluster existed: EKS holds
	// the cluster and its creator's entry; the backend has no outputs.
	interrupted := func(a *awsAccount) {
		destroy(a)
		a.createCluster("locust-eksCluster-1a2b3c", deploySessn, nil)
		a.elapse(20 * time.Minute)
	}
	for _, seq := range []struct {
		name  string
		set   map[string]string
		steps []lifecycleStep
	}{
		{"shipped stack files: no creator, no administrators", map[string]string{"ttlHours": "8"}, []lifecycleStep{
			{name: "the creator's first up", caller: deploySessn},
			{name: "the same identity's second up", caller: deploySessn2, before: elapse(time.Hour)},
			{name: "an administrator added out of band", caller: aliceUser, before: func(a *awsAccount) {
				a.clusters["locust-eksCluster-1a2b3c"].entries[aliceUser] = true
			}},
			{name: "a stranger's up", caller: strangerSess,
				wantErr: "arn:aws:iam::123456789012:role/stranger, holds no access entry on cluster locust-eksCluster-1a2b3c"},
			{name: "the creator again, EKS's answer denied", caller: deploySessn, before: func(a *awsAccount) { a.deny["eks:DescribeAccessEntry"] = true }},
			{name: "a first up interrupted after the cluster existed, resumed", caller: deploySessn, before: func(a *awsAccount) {
				interrupted(a)
				a.deny = map[string]bool{}
			}},
			{name: "destroy, then up again", caller: deploySessn, before: destroy},
			{name: "the second up after that", caller: deploySessn2, before: elapse(3 * time.Hour)},
		}},
		{"shipped stack files, the creator a role with a path (IAM Identity Center)", map[string]string{}, []lifecycleStep{
			{name: "the creator's first up", caller: ssoSession, before: func(a *awsAccount) {
				a.rolePaths["AWSReservedSSO_Admin_0123456789abcdef"] = "/aws-reserved/sso.amazonaws.com/"
			}},
			{name: "the same identity's second up", caller: ssoSession, before: elapse(time.Hour)},
			{name: "a stranger's up", caller: strangerSess, wantErr: "holds no access entry"},
			{name: "the creator again, iam:GetRole denied: warned, not refused", caller: ssoSession, before: func(a *awsAccount) { a.deny["iam:GetRole"] = true }},
		}},
		{"creator and administrators recorded", map[string]string{
			"ttlHours": "8", "clusterCreatorArn": deployRole, "clusterAdminArns": `["` + previewRole + `","` + aliceUser + `"]`,
		}, []lifecycleStep{
			{name: "the creator's first up", caller: deploySessn},
			{name: "the same identity's second up", caller: deploySessn2, before: elapse(time.Hour)},
			{name: "another administrator's up", caller: previewSessn},
			{name: "a stranger's up", caller: strangerSess,
				wantErr: "is neither clusterCreatorArn (arn:aws:iam::123456789012:role/deploy) nor in clusterAdminArns"},
			{name: "a first up interrupted after the cluster existed, resumed", caller: deploySessn, before: interrupted},
			{name: "destroy, then up again", caller: deploySessn, before: destroy},
		}},
	} {
		t.Run(seq.name, func(t *testing.T) {
			useAccount(t, newAWSAccount())
			lastOutputs = nil
			t.Cleanup(func() { lastOutputs = nil })
			for _, step := range seq.steps {
				if step.before != nil {
					step.before(account)
				}
				withCaller(t, step.caller)
				s := run(t, "dev", seq.set)
				if step.wantErr != "" {
					if s.err == nil || !strings.Contains(s.err.Error(), step.wantErr) {
						t.Fatalf("%s: error %v, want one containing %q", step.name, s.err, step.wantErr)
					}
					for _, r := range s.monitor.Resources() {
						if strings.HasPrefix(r.Type, "kubernetes:") {
							t.Errorf("%s: %s %s registered before the error; want none", step.name, r.Type, r.Name)
						}
					}
					continue
				}
				if s.err != nil {
					t.Fatalf("%s: %v", step.name, s.err)
				}
				if s.count("kubernetes:apps/v1:Deployment") == 0 {
					t.Errorf("%s: no Locust Deployment registered", step.name)
				}
				lastOutputs = s.outputs
			}
		})
	}
}
