package ekscluster

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestQuotas: each quota a first up hits is compared with what this stack
// alone needs, refused over it with the keys, the figure, the quota and the
// remedy, and only warned about when it cannot be read. vCPUs are EC2's
// DefaultVCpus for the types (the EC2 instance type pages: c6i.large and
// t3.medium 2, c6i.xlarge 4, g5.xlarge 4).
func TestQuotas(t *testing.T) {
	types := map[string]InstanceCapacity{
		"c6i.large": {Type: "c6i.large", VCPUs: 2}, "c6i.xlarge": {Type: "c6i.xlarge", VCPUs: 4},
		"t3.medium": {Type: "t3.medium", VCPUs: 2}, "m6i.large": {Type: "m6i.large", VCPUs: 2},
		"g5.xlarge": {Type: "g5.xlarge", VCPUs: 4}, "inf2.xlarge": {Type: "inf2.xlarge", VCPUs: 4},
	}
	capacities := func(names ...string) []InstanceCapacity {
		var out []InstanceCapacity
		for _, n := range names {
			out = append(out, types[n])
		}
		return out
	}
	newVPC := NetworkArgs{CIDR: netip.MustParsePrefix("10.0.0.0/16"), AvailabilityZones: 2}
	dev := &ClusterArgs{Network: newVPC, NodeGroup: NodeGroupArgs{CapacityType: "SPOT", MaxSize: 3}}
	prod := &ClusterArgs{Network: NetworkArgs{CIDR: newVPC.CIDR, AvailabilityZones: 3, NATGatewayPerAZ: true},
		NodeGroup: NodeGroupArgs{CapacityType: "ON_DEMAND", MaxSize: 8}}
	existing := &ClusterArgs{Network: NetworkArgs{VpcID: "vpc-0a1b2c3d"}, NodeGroup: NodeGroupArgs{CapacityType: "SPOT", MaxSize: 3}}
	existingThreeZones := &ClusterArgs{Network: NetworkArgs{VpcID: "vpc-0a1b2c3d", PrivateSubnetIDs: []string{"subnet-1", "subnet-2", "subnet-3"}},
		NodeGroup: NodeGroupArgs{CapacityType: "SPOT", MaxSize: 3}}
	// dev's plan: two 1-core workers, one per c6i.large; prod's: ten
	// workers on four c6i.xlarge.
	devPlan := NodePlan{System: Pool{Nodes: 1}, Workers: Pool{Nodes: 2}}
	prodPlan := NodePlan{System: Pool{Nodes: 1}, Workers: Pool{Nodes: 4}}
	// An account with room for both shipped stacks.
	roomy := map[string]quotaRead{onDemandVCPUs.code: {value: 64}, spotVCPUs.code: {value: 16}, elasticIPs.code: {value: 5}, vpcsPerRegion.code: {value: 5}}
	with := func(code string, r quotaRead) map[string]quotaRead {
		out := map[string]quotaRead{}
		for k, v := range roomy {
			out[k] = v
		}
		out[code] = r
		return out
	}
	denied := quotaRead{err: errors.New("AccessDeniedException: User is not authorized to perform: servicequotas:GetServiceQuota")}
	accountWide := "compares only this stack's own need with it"

	for _, tc := range []struct {
		name            string
		args            *ClusterArgs
		plan            NodePlan
		workers, system []InstanceCapacity
		reads           map[string]quotaRead
		refused, warned []string
		// notWarned are parts no warning may hold.
		notWarned []string
	}{
		{name: "dev in a roomy account", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"), reads: roomy},
		{name: "dev on a new account's spot quota of 5 vCPUs: launches, warned about its maximum", args: dev, plan: devPlan,
			workers: capacities("c6i.large"), system: capacities("t3.medium"), reads: with(spotVCPUs.code, quotaRead{value: 5}),
			warned: []string{"nodeMaxSize, nodeInstanceTypes, nodeCapacityType: this stack may need up to 6 of the quota All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests, in vCPUs (ec2, code L-34B43A08), whose value in this account is 5",
				"the workers' node group: 2 x 2 vCPUs (c6i.large) planned, 3 x 2 vCPUs (c6i.large) at its maximum, 4 more while EKS updates it", accountWide,
				"--service-code ec2 --quota-code L-34B43A08", "or lower nodeMaxSize or pick smaller nodeInstanceTypes",
				// The review's case: a version bump adds 2 nodes per zone
				// to the 2 planned, 6 x 2 vCPUs.
				"nodeMaxSize, nodeInstanceTypes, nodeCapacityType: while EKS updates the node groups (a kubernetesVersion bump, a new AMI or launch template), this stack needs up to 12 of the quota All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests, in vCPUs (ec2, code L-34B43A08), whose value in this account is 5",
				"the update fails mid-up (on a version bump, after the control plane is upgraded)"}},
		{name: "dev fits at its maximum, not while EKS updates its nodes", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads:     with(spotVCPUs.code, quotaRead{value: 11}),
			warned:    []string{"while EKS updates the node groups (a kubernetesVersion bump, a new AMI or launch template), this stack needs up to 12 of the quota All Standard"},
			notWarned: []string{"may need up to"}},
		{name: "dev while EKS updates its nodes: exactly the quota", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads: with(spotVCPUs.code, quotaRead{value: 12})},
		{name: "the system group's update on a new account's on-demand quota of 5", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads:  with(onDemandVCPUs.code, quotaRead{value: 5}),
			warned: []string{"this stack needs up to 10 of the quota Running On-Demand Standard", "the system node group: 1 x 2 vCPUs (t3.medium) planned, 2 x 2 vCPUs (t3.medium) at its maximum, 4 more while EKS updates it"}},
		{name: "an existing VPC's three private subnets: up to 6 more nodes", args: existingThreeZones, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads:  with(spotVCPUs.code, quotaRead{value: 15}),
			warned: []string{"this stack needs up to 16 of the quota All Standard", "6 more while EKS updates it"}},
		{name: "dev's planned spot nodes over the quota", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads: with(spotVCPUs.code, quotaRead{value: 3}),
			refused: []string{"nodeMaxSize, nodeInstanceTypes, nodeCapacityType: this stack needs 4 of the quota All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests, in vCPUs (ec2, code L-34B43A08), whose value in this account is 3",
				accountWide, "--service-code ec2 --quota-code L-34B43A08", "or lower nodeMaxSize or pick smaller nodeInstanceTypes"}},
		{name: "prod's on-demand vCPUs: both groups", args: prod, plan: prodPlan, workers: capacities("c6i.xlarge"), system: capacities("m6i.large"),
			reads: with(onDemandVCPUs.code, quotaRead{value: 16}),
			refused: []string{"systemNodeInstanceTypes, nodeMaxSize, nodeInstanceTypes, nodeCapacityType: this stack needs 18 of the quota Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, in vCPUs (ec2, code L-1216C47A), whose value in this account is 16",
				"the system node group: 1 x 2 vCPUs (m6i.large) planned, 2 x 2 vCPUs (m6i.large) at its maximum, 6 more while EKS updates it; the workers' node group: 4 x 4 vCPUs (c6i.xlarge) planned, 8 x 4 vCPUs (c6i.xlarge) at its maximum, 6 more while EKS updates it",
				"pick smaller systemNodeInstanceTypes, or lower nodeMaxSize"}},
		{name: "prod's on-demand vCPUs: room for the plan, not the maximum", args: prod, plan: prodPlan, workers: capacities("c6i.xlarge"), system: capacities("m6i.large"),
			reads:  with(onDemandVCPUs.code, quotaRead{value: 32}),
			warned: []string{"this stack may need up to 36 of the quota Running On-Demand Standard"}},
		{name: "prod's Elastic IPs: one per NAT gateway", args: prod, plan: prodPlan, workers: capacities("c6i.xlarge"), system: capacities("m6i.large"),
			reads: with(elasticIPs.code, quotaRead{value: 2}),
			refused: []string{"natGatewayPerAz, availabilityZoneCount: this stack needs 3 of the quota EC2-VPC Elastic IPs (ec2, code L-0263D0A3), whose value in this account is 2",
				"lower availabilityZoneCount, set natGatewayPerAz to false"}},
		{name: "the VPC the stack creates", args: dev, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads:   with(vpcsPerRegion.code, quotaRead{value: 0}),
			refused: []string{"vpcId: this stack needs 1 of the quota VPCs per Region (vpc, code L-F678F1CE), whose value in this account is 0", "set vpcId (with privateSubnetIds) to an existing VPC"}},
		{name: "an existing VPC needs no EIP nor VPC", args: existing, plan: devPlan, workers: capacities("c6i.large"), system: capacities("t3.medium"),
			reads: with(elasticIPs.code, quotaRead{value: 0})},
		{name: "the largest of mixed types only warns", args: dev, plan: devPlan, workers: capacities("c6i.large", "c6i.xlarge"), system: capacities("t3.medium"),
			reads:  with(spotVCPUs.code, quotaRead{value: 8}),
			warned: []string{"this stack may need up to 12 of the quota All Standard", "2 x 2 vCPUs (c6i.large) planned, 3 x 4 vCPUs (c6i.xlarge) at its maximum", accountWide}},
		{name: "on-demand launches the first type listed", args: prod, plan: prodPlan, workers: capacities("c6i.xlarge", "c6i.large"), system: capacities("m6i.large"),
			reads:   with(onDemandVCPUs.code, quotaRead{value: 16}),
			refused: []string{"this stack needs 18 of the quota Running On-Demand", "4 x 4 vCPUs (c6i.xlarge) planned"}},
		{name: "a family with its own quota is named, not counted", args: dev, plan: devPlan, workers: capacities("g5.xlarge", "inf2.xlarge"), system: capacities("t3.medium"),
			reads:  with(spotVCPUs.code, quotaRead{value: 0}),
			warned: []string{"nodeInstanceTypes: g5.xlarge is not of the standard instance families", "nodeInstanceTypes: inf2.xlarge is not"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			needs, warnings := quotaNeeds(tc.args, tc.plan, tc.workers, tc.system)
			more, err := judgeQuotas(needs, tc.reads)
			warnings = append(warnings, more...)
			if checkRefusal(t, err, tc.refused, warnings) {
				return
			}
			all := strings.Join(warnings, "\n")
			if len(tc.warned) == 0 && all != "" {
				t.Errorf("warnings %q; want none", all)
			}
			for _, want := range tc.warned {
				if !strings.Contains(all, want) {
					t.Errorf("warnings %q\nwant them to contain %q", all, want)
				}
			}
			for _, unwanted := range tc.notWarned {
				if strings.Contains(all, unwanted) {
					t.Errorf("warnings %q\nwant none to contain %q", all, unwanted)
				}
			}
		})
	}

	// A read that is denied or fails, for each quota, warns and goes on.
	for _, code := range []string{onDemandVCPUs.code, spotVCPUs.code, elasticIPs.code, vpcsPerRegion.code} {
		t.Run("denied "+code, func(t *testing.T) {
			needs, _ := quotaNeeds(dev, devPlan, capacities("c6i.large"), capacities("t3.medium"))
			warnings, err := judgeQuotas(needs, with(code, denied))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "code "+code+"; servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota") ||
				!strings.Contains(warnings[0], "AccessDeniedException") || !strings.Contains(warnings[0], "Not checked: this stack needs") {
				t.Errorf("warnings %q; want one naming %s, the permissions and the need", warnings, code)
			}
		})
	}
}

// checkRefusal checks err against the parts a refusal must name (none: err
// must be nil), and reports whether the case was a refusal, so that the
// caller stops there.
func checkRefusal(t *testing.T, err error, refused, warnings []string) bool {
	t.Helper()
	if len(refused) == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("accepted (warnings %q); want refused with %q", warnings, refused)
	}
	for _, want := range refused {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to contain %q", err, want)
		}
	}
	return true
}
