package ekscluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicequotas"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The service quotas a first `up` on a new account runs into, read at
// preview (servicequotas:GetServiceQuota, through
// aws.servicequotas.getServiceQuota) and compared with what this stack
// alone needs: a quota is a ceiling on the account's whole use in the
// region, and other resources of the account are not counted here.
//
// The codes, with the names Service Quotas gives them:
//   - ec2 L-1216C47A, "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z)
//     instances", in vCPUs (AWS CLI User Guide, Service Quotas examples,
//     get-aws-default-service-quota: usage metric Resource vCPU, Class
//     Standard/OnDemand);
//   - ec2 L-34B43A08, "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance
//     Requests", in vCPUs (EC2 User Guide, Spot Instance quotas);
//   - ec2 L-0263D0A3, "EC2-VPC Elastic IPs": one per NAT gateway this stack
//     creates (network.go allocates one EIP per gateway);
//   - vpc L-F678F1CE, "VPCs per Region".

// quota is one Service Quotas quota.
type quota struct {
	service, code, name string
}

var (
	onDemandVCPUs = quota{"ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, in vCPUs"}
	spotVCPUs     = quota{"ec2", "L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests, in vCPUs"}
	elasticIPs    = quota{"ec2", "L-0263D0A3", "EC2-VPC Elastic IPs"}
	vpcsPerRegion = quota{"vpc", "L-F678F1CE", "VPCs per Region"}
)

// standardFamilies are the instance families the two vCPU quotas count
// (their names list A, C, D, H, I, M, R, T, Z), as the letters an instance
// type starts with: "i" and the storage-optimized "im" and "is" are all of
// the I family. Other families (G, P, Inf, Trn, DL, X, HPC...) have quotas of
// their own, which this does not check.
var standardFamilies = []string{"a", "c", "d", "h", "i", "im", "is", "m", "r", "t", "z"}

// quotaNeed is what this stack alone needs of one quota: Need for what an
// up launches (the planned nodes, on their smallest instance types), and up
// to Most when its node groups grow to their maximum size on their largest
// types.
type quotaNeed struct {
	quota
	Need, Most int
	// Roll is what the node groups need while EKS updates them (a new
	// Kubernetes version, AMI or launch template): each group's planned
	// nodes and the up to two new nodes per zone it launches before it
	// drains the old ones.
	Roll int
	// Detail says how the need is made up.
	Detail string
	// Keys are the config keys that drive the need; Lower says how to
	// lower it.
	Keys  []string
	Lower string
}

// quotaRead is a quota's value, or why it could not be read.
type quotaRead struct {
	value float64
	err   error
}

// checkQuotas reads the quotas this stack needs and fails the preview,
// before anything is registered, where the stack alone needs more than a
// quota allows. A read that is denied or fails is a warning: the preview
// goes on.
func checkQuotas(ctx *pulumi.Context, args *ClusterArgs, plan NodePlan, workers, system []InstanceCapacity, opts ...pulumi.InvokeOption) error {
	needs, warnings := quotaNeeds(args, plan, workers, system)
	reads := map[string]quotaRead{}
	for _, n := range needs {
		res, err := servicequotas.LookupServiceQuota(ctx, &servicequotas.LookupServiceQuotaArgs{
			ServiceCode: n.service, QuotaCode: ptr(n.code),
		}, opts...)
		if err != nil {
			reads[n.code] = quotaRead{err: err}
			continue
		}
		reads[n.code] = quotaRead{value: res.Value}
	}
	more, err := judgeQuotas(needs, reads)
	for _, w := range append(warnings, more...) {
		if werr := ctx.Log.Warn(w, nil); werr != nil {
			return werr
		}
	}
	return err
}

// quotaNeeds works out what the stack needs of each quota: both node groups
// at their planned size, and at their maximum, on-demand or spot (an up
// launches the planned nodes; a node group scaled up later launches up to
// its maximum); one Elastic IP per NAT gateway
// and one VPC, when the stack creates the network. Instance types outside
// the standard families are named in the warnings, unchecked.
func quotaNeeds(args *ClusterArgs, plan NodePlan, workers, system []InstanceCapacity) (needs []quotaNeed, warnings []string) {
	type group struct {
		name           string
		planned, nodes int
		types          []InstanceCapacity
		capacity       string
		typesKey       string
		sizeKey        string
		extraKeys      []string
		lowerTheGroup  string
	}
	groups := []group{
		{name: "the system node group", planned: plan.System.Nodes, nodes: plan.systemMaxSize(), types: system, capacity: "ON_DEMAND",
			typesKey: "systemNodeInstanceTypes", lowerTheGroup: "pick smaller systemNodeInstanceTypes"},
		{name: "the workers' node group", planned: plan.Workers.Nodes, nodes: args.NodeGroup.MaxSize, types: workers, capacity: args.NodeGroup.CapacityType,
			typesKey: "nodeInstanceTypes", sizeKey: "nodeMaxSize", extraKeys: []string{"nodeCapacityType"},
			lowerTheGroup: "lower nodeMaxSize or pick smaller nodeInstanceTypes"},
	}
	// The node groups span the new VPC's zones, or the given private
	// subnets' (at most one zone each).
	zones := args.Network.AvailabilityZones
	if args.Network.existing() {
		zones = max(1, len(args.Network.PrivateSubnetIDs))
	}
	byQuota := map[quota]*quotaNeed{}
	for _, g := range groups {
		var counted []InstanceCapacity
		for _, t := range g.types {
			if slices.Contains(standardFamilies, family(t.Type)) {
				counted = append(counted, t)
				continue
			}
			warnings = append(warnings, fmt.Sprintf("%s: %s is not of the standard instance families (A, C, D, H, I, M, R, T, Z), whose vCPU quotas this preview checks; "+
				"its family's own quota is not checked.", g.typesKey, t.Type))
		}
		if len(counted) == 0 || g.nodes == 0 {
			continue
		}
		least := slices.MinFunc(counted, func(a, b InstanceCapacity) int { return a.VCPUs - b.VCPUs })
		most := slices.MaxFunc(counted, func(a, b InstanceCapacity) int { return a.VCPUs - b.VCPUs })
		q := onDemandVCPUs
		if g.capacity == "SPOT" {
			q = spotVCPUs
		}
		n := byQuota[q]
		if n == nil {
			n = &quotaNeed{quota: q}
			byQuota[q] = n
		}
		// On-demand nodes launch on the types in the order given (EKS user
		// guide, managed node groups: on-demand capacity uses the order of
		// the instance types passed); spot on any of them.
		launch := least
		if g.capacity != "SPOT" {
			launch = counted[0]
		}
		n.Need += g.planned * launch.VCPUs
		n.Most += g.nodes * most.VCPUs
		// EKS user guide, "Understand each phase of node updates", scale-up
		// phase: an update raises the group's maximum and desired size by
		// the larger of up to twice its availability zones and its maximum
		// unavailable (one node here, the default), and launches up to two
		// new nodes per zone before it drains any old one. Both groups
		// roll at once on a version bump: Pulumi updates them in parallel.
		surge := 2 * zones
		n.Roll += (g.planned + surge) * launch.VCPUs
		detail := fmt.Sprintf("%s: %d x %d vCPUs (%s) planned, %d x %d vCPUs (%s) at its maximum, %d more while EKS updates it",
			g.name, g.planned, launch.VCPUs, launch.Type, g.nodes, most.VCPUs, most.Type, surge)
		n.Detail = joinNonEmpty(n.Detail, detail, "; ")
		for _, k := range append([]string{g.sizeKey, g.typesKey}, g.extraKeys...) {
			if k != "" && !slices.Contains(n.Keys, k) {
				n.Keys = append(n.Keys, k)
			}
		}
		n.Lower = joinNonEmpty(n.Lower, g.lowerTheGroup, ", or ")
	}
	for _, q := range []quota{onDemandVCPUs, spotVCPUs} {
		if n := byQuota[q]; n != nil {
			needs = append(needs, *n)
		}
	}

	if nat := natGateways(args.Network); nat > 0 {
		keys, lower := []string{"natGatewayPerAz"}, "set natGatewayPerAz to false (one NAT gateway), or vpcId to an existing VPC"
		if args.Network.NATGatewayPerAZ {
			keys, lower = []string{"natGatewayPerAz", "availabilityZoneCount"}, "lower availabilityZoneCount, set natGatewayPerAz to false (one NAT gateway), or vpcId to an existing VPC"
		}
		needs = append(needs, quotaNeed{quota: elasticIPs, Need: nat, Most: nat,
			Detail: fmt.Sprintf("one per NAT gateway, %d", nat), Keys: keys, Lower: lower})
	}
	if !args.Network.existing() {
		needs = append(needs, quotaNeed{quota: vpcsPerRegion, Need: 1, Most: 1,
			Detail: "the VPC this stack creates", Keys: []string{"vpcId"}, Lower: "set vpcId (with privateSubnetIds) to an existing VPC"})
	}
	return needs, warnings
}

// judgeQuotas compares each need with the quota's value: what an up
// launches over it is an error naming the keys, the figure, the quota and
// the remedy; a read that failed, or a need that only a node group grown to
// its maximum (or landed on its largest types), or EKS's update of the node
// groups would push over, is a warning: the up itself launches.
func judgeQuotas(needs []quotaNeed, reads map[string]quotaRead) (warnings []string, err error) {
	const accountWide = "A quota caps the whole account's use in the region; this preview compares only this stack's own need with it, " +
		"so resources the account already runs there come on top."
	var errs []error
	for _, n := range needs {
		r, ok := reads[n.code]
		if !ok || r.err != nil {
			why := "no answer"
			if ok {
				why = r.err.Error()
			}
			warnings = append(warnings, fmt.Sprintf("Could not read the service quota %s (%s, code %s; servicequotas:GetServiceQuota and "+
				"servicequotas:GetAWSDefaultServiceQuota, see docs/ci.md, What the roles must be allowed to do): %s. Not checked: this stack needs %d (%s).",
				n.name, n.service, n.code, why, n.Need, n.Detail))
			continue
		}
		request := fmt.Sprintf("request an increase (Service Quotas console, or aws service-quotas request-service-quota-increase --service-code %s --quota-code %s --desired-value N)",
			n.service, n.code)
		if float64(n.Need) > r.value {
			errs = append(errs, fmt.Errorf("%s: this stack needs %d of the quota %s (%s, code %s), whose value in this account is %g: %s. %s "+
				"To create it, %s, or %s",
				strings.Join(n.Keys, ", "), n.Need, n.name, n.service, n.code, r.value, n.Detail, accountWide, request, n.Lower))
			continue
		}
		if float64(n.Most) > r.value {
			warnings = append(warnings, fmt.Sprintf("%s: this stack may need up to %d of the quota %s (%s, code %s), whose value in this account is %g: %s. %s "+
				"Nodes past the quota fail to launch when a node group grows: %s, or %s.",
				strings.Join(n.Keys, ", "), n.Most, n.name, n.service, n.code, r.value, n.Detail, accountWide, request, n.Lower))
		}
		if float64(n.Roll) > r.value {
			warnings = append(warnings, fmt.Sprintf("%s: while EKS updates the node groups (a kubernetesVersion bump, a new AMI or launch template), this stack needs up to %d of the quota %s (%s, code %s), "+
				"whose value in this account is %g: %s. %s EKS launches the new nodes before it drains the old ones; past the quota they fail to launch and the update fails "+
				"mid-up (on a version bump, after the control plane is upgraded). Before such an update, %s, or %s.",
				strings.Join(n.Keys, ", "), n.Roll, n.name, n.service, n.code, r.value, n.Detail, accountWide, request, n.Lower))
		}
	}
	return warnings, errors.Join(errs...)
}

// family is the letters an instance type starts with: "c" for c6i.large,
// "inf" for inf2.xlarge.
func family(instanceType string) string {
	i := strings.IndexFunc(instanceType, func(r rune) bool { return r < 'a' || r > 'z' })
	if i < 0 {
		return instanceType
	}
	return instanceType[:i]
}

// systemMaxSize is the system node group's maximum size: its planned nodes,
// and at least two. NewCluster sizes the group with it, and the quota check
// counts it, so the two cannot drift apart.
func (p NodePlan) systemMaxSize() int { return max(2, p.System.Nodes) }

func joinNonEmpty(a, b, sep string) string {
	if a == "" {
		return b
	}
	return a + sep + b
}
