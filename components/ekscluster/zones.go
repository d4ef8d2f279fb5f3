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
// Wavelength Zones) that need no opt-in, without UnsupportedZoneIDs.
func availabilityZones(ctx *pulumi.Context, n int, opts ...pulumi.InvokeOption) ([]string, error) {
	names, err := eksZones(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if len(names) < n {
		return nil, fmt.Errorf("availabilityZoneCount is %d, but the region has only %d zones where EKS accepts cluster subnets: %v (EKS refuses %v)",
			n, len(names), names, UnsupportedZoneIDs)
	}
	return names[:n], nil
}

// eksZones are all the region's zones where EKS accepts cluster subnets, by
// name.
func eksZones(ctx *pulumi.Context, opts ...pulumi.InvokeOption) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: ptr("available"),
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
