package ekscluster

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// UnsupportedZoneIDs are the availability zones where EKS refuses cluster
// subnets (CreateCluster fails with UnsupportedAvailabilityZoneException):
// the EKS user guide, "Subnet requirements for clusters"
// (latest/ug/networking/network-reqs.adoc). They are zone IDs, not names:
// the name us-east-1c is a different physical zone in each account, the ID
// use1-az3 is the same everywhere.
var UnsupportedZoneIDs = []string{"use1-az3", "usw1-az2", "cac1-az3"}

// availabilityZones returns the first n zones of the region where EKS
// accepts cluster subnets: standard availability zones (not Local or
// Wavelength Zones) that need no opt-in, without UnsupportedZoneIDs, by
// name. A zone's state is no filter: it changes during a zone event
// (available, information, impaired, unavailable, constrained: EC2 API,
// AvailabilityZone), and a zone dropped from the list would shift every
// later subnet into another zone, which replaces the subnets (a subnet's
// availability_zone forces a new one: Terraform aws_subnet), their NAT
// gateways and the cluster's network, or fails on the CIDRs the old ones
// hold. warnUnavailableZones says when a chosen zone is not available.
func availabilityZones(ctx *pulumi.Context, n int, opts ...pulumi.InvokeOption) ([]string, error) {
	names, err := eksZones(ctx, nil, opts...)
	if err != nil {
		return nil, err
	}
	if len(names) < n {
		return nil, fmt.Errorf("availabilityZoneCount is %d, but the region has only %d zones where EKS accepts cluster subnets: %v (EKS refuses %v)",
			n, len(names), names, UnsupportedZoneIDs)
	}
	return names[:n], nil
}

// warnUnavailableZones warns, at preview and up, when a zone the stack uses
// is not in the state "available" now: what the run creates or launches
// there may fail until the zone recovers.
func warnUnavailableZones(ctx *pulumi.Context, chosen []string, opts ...pulumi.InvokeOption) error {
	available, err := eksZones(ctx, ptr("available"), opts...)
	if err != nil {
		return err
	}
	if msg := unavailableZonesWarning(chosen, available); msg != "" {
		return ctx.Log.Warn(msg, nil)
	}
	return nil
}

// unavailableZonesWarning is the warning for the chosen zones missing from
// the available ones, or "" when every one is available.
func unavailableZonesWarning(chosen, available []string) string {
	var down []string
	for _, z := range chosen {
		if !slices.Contains(available, z) {
			down = append(down, z)
		}
	}
	if len(down) == 0 {
		return ""
	}
	return fmt.Sprintf("availability zones %v are not in the state available now (EC2 reports a zone event: impaired, unavailable, constrained or information). "+
		"The stack keeps its subnets in the zones it chose (moving them would replace the subnets, NAT gateways and the cluster's network); "+
		"what this run creates or launches there may fail until the zone recovers: see the AWS Health Dashboard, and run again later.", down)
}

// eksZones are all the region's zones where EKS accepts cluster subnets, by
// name; with state, only those in that state.
func eksZones(ctx *pulumi.Context, state *string, opts ...pulumi.InvokeOption) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: state,
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
			{Name: "zone-type", Values: []string{"availability-zone"}},
		},
		ExcludeZoneIds: slices.Clone(UnsupportedZoneIDs),
	}, opts...)
	if err != nil {
		return nil, err
	}
	return res.Names, nil
}
