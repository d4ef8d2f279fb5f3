package ekscluster

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
)

// commercialRegions are the commercial-partition regions the pinned
// pulumi-aws SDK knows (sdk/v6@v6.83.4 go/aws/pulumiEnums.go:17-48, the
// aws.Region enum before the China, GovCloud and ISO entries), and the two
// the AWS Region billing codes page lists that this enum does not yet
// (ap-east-2, Taipei; ap-southeast-6, New Zealand).
var commercialRegions = []string{
	string(aws.RegionAFSouth1), string(aws.RegionAPEast1), string(aws.RegionAPNortheast1), string(aws.RegionAPNortheast2),
	string(aws.RegionAPNortheast3), string(aws.RegionAPSouth1), string(aws.RegionAPSouth2), string(aws.RegionAPSoutheast1),
	string(aws.RegionAPSoutheast2), string(aws.RegionAPSoutheast3), string(aws.RegionAPSoutheast4), string(aws.RegionAPSoutheast5),
	string(aws.RegionAPSoutheast7), string(aws.RegionCACentral), string(aws.RegionCAWest1), string(aws.RegionEUCentral1),
	string(aws.RegionEUCentral2), string(aws.RegionEUNorth1), string(aws.RegionEUSouth1), string(aws.RegionEUSouth2),
	string(aws.RegionEUWest1), string(aws.RegionEUWest2), string(aws.RegionEUWest3), string(aws.RegionILCentral1),
	string(aws.RegionMECentral1), string(aws.RegionMESouth1), string(aws.RegionMXCentral1), string(aws.RegionSAEast1),
	string(aws.RegionUSEast1), string(aws.RegionUSEast2), string(aws.RegionUSWest1), string(aws.RegionUSWest2),
	"ap-east-2", "ap-southeast-6",
}

// TestEveryCommercialRegionHasABillingCode: without a code the control
// plane, the NAT gateways and the NLB go unpriced, and with maxHourlyCost
// the preview fails.
func TestEveryCommercialRegionHasABillingCode(t *testing.T) {
	for _, region := range commercialRegions {
		p := &pricer{region: region}
		ut, err := p.usageType("AmazonEKS", "AmazonEKS-Hours:perCluster")
		if err != nil {
			t.Errorf("%s: %v", region, err)
			continue
		}
		if code, _, _ := strings.Cut(ut, "-AmazonEKS"); code == "" || code != strings.ToUpper(code) {
			t.Errorf("%s: usage type %q has no region prefix", region, ut)
		}
	}
}

// TestUsageType checks the prefixes against the AWS Region billing codes
// page (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html)
// and the unprefixed us-east-1 EC2 and ELB usage types ("USE1 (or no
// prefix)"), and that a region outside the commercial partition is refused
// naming aws:region.
func TestUsageType(t *testing.T) {
	for _, tc := range []struct {
		region, service, name string
		want, err             string
	}{
		{"us-east-1", "AmazonEKS", "AmazonEKS-Hours:perCluster", "USE1-AmazonEKS-Hours:perCluster", ""},
		{"us-east-1", "AmazonEC2", "NatGateway-Hours", "NatGateway-Hours", ""},
		{"us-east-1", "AWSELB", "LoadBalancerUsage", "LoadBalancerUsage", ""},
		{"eu-west-1", "AmazonEC2", "NatGateway-Hours", "EU-NatGateway-Hours", ""},
		{"ap-south-1", "AmazonEKS", "AmazonEKS-Hours:perCluster", "APS3-AmazonEKS-Hours:perCluster", ""},
		{"ap-southeast-3", "AmazonEC2", "NatGateway-Hours", "APS4-NatGateway-Hours", ""},
		{"ap-south-2", "AmazonEC2", "NatGateway-Hours", "APS5-NatGateway-Hours", ""},
		{"ap-southeast-7", "AWSELB", "LoadBalancerUsage", "APS9-LoadBalancerUsage", ""},
		{"ca-west-1", "AmazonEKS", "AmazonEKS-Hours:perCluster", "CAN2-AmazonEKS-Hours:perCluster", ""},
		{"mx-central-1", "AmazonEC2", "NatGateway-Hours", "MXC1-NatGateway-Hours", ""},
		{"af-south-1", "AmazonEC2", "NatGateway-Hours", "AFS1-NatGateway-Hours", ""},
		{"ap-east-1", "AmazonEC2", "NatGateway-Hours", "APE1-NatGateway-Hours", ""},
		{"eu-central-2", "AmazonEC2", "NatGateway-Hours", "EUC2-NatGateway-Hours", ""},
		{"eu-south-1", "AmazonEC2", "NatGateway-Hours", "EUS1-NatGateway-Hours", ""},
		{"me-south-1", "AmazonEC2", "NatGateway-Hours", "MES1-NatGateway-Hours", ""},
		{"il-central-1", "AmazonEKS", "AmazonEKS-Hours:perCluster", "ILC1-AmazonEKS-Hours:perCluster", ""},
		{"cn-north-1", "AmazonEKS", "AmazonEKS-Hours:perCluster", "", `aws:region "cn-north-1" has no AWS Region billing code known here`},
		{"us-gov-west-1", "AmazonEC2", "NatGateway-Hours", "", `aws:region "us-gov-west-1" has no AWS Region billing code known here`},
	} {
		t.Run(tc.region+" "+tc.name, func(t *testing.T) {
			got, err := (&pricer{region: tc.region}).usageType(tc.service, tc.name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "us-east-1") {
					t.Fatalf("error %v, want one containing %q and the regions priced", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("usageType = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
