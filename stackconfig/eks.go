package stackconfig

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/locust-eks/locust-on-eks/components/ekscluster"
)

// kubernetesVersion checks that version is written as a Kubernetes minor
// version. Whether EKS runs it, and at which rate, is asked of EKS at
// preview (ekscluster, eks:DescribeClusterVersions): a table here would go
// stale, refusing versions EKS has added and billing at the wrong rate.
func (p *parser) kubernetesVersion(version string) {
	if !minorVersion.MatchString(version) {
		p.fail("kubernetesVersion", quote(version), "must be a Kubernetes minor version like \"1.35\" (no patch version); "+
			"whether EKS offers it is asked of EKS at preview")
	}
}

// maxHourlyCost reads the ceiling on the estimated cost per hour, in USD;
// 0 when empty (none).
func (p *parser) maxHourlyCost() float64 {
	return p.positiveAmount("maxHourlyCost", math.MaxFloat64,
		"must be empty (no ceiling) or the most the stack may cost per hour, in US dollars, like \"1.50\"")
}

var (
	minorVersion     = regexp.MustCompile(`^1\.[0-9]{1,3}$`)
	eksName          = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)
	assumedRoleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)
	principalARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`)
	vpcID            = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetID         = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	instanceType     = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	clusterLogTypes  = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
	capacityTypes    = []string{"ON_DEMAND", "SPOT"}
	maxWorkers       = 1000
	maxShards        = 10
	maxNodes         = 1000
	minDiskGiB       = 20 // the EKS AL2023 AMI's own root volume size
	maxDiskGiB       = 16384
	minAZs, maxAZs   = 2, 6
	minVPCPrefixBits = 16
	maxVPCPrefixBits = 20
)

func (p *parser) eksCluster() EKSCluster {
	c := EKSCluster{
		Name:              p.str("clusterName"),
		KubernetesVersion: p.str("kubernetesVersion"),
		LogTypes:          p.list("clusterLogTypes"),
		PublicAccessCIDRs: p.list("publicAccessCidrs"),
		AdminARNs:         p.list("clusterAdminArns"),
		CreatorARN:        p.str("clusterCreatorArn"),
		Credentials:       p.awsCredentials(),
	}
	if c.CreatorARN != "" && !principalARN.MatchString(c.CreatorARN) {
		p.fail("clusterCreatorArn", quote(c.CreatorARN), "must be empty or the ARN of the IAM role or user that creates the cluster, like \"arn:aws:iam::123456789012:role/deploy\" (for an assumed role, the role's ARN, not the session's)")
	}
	for _, arn := range c.AdminARNs {
		if !principalARN.MatchString(arn) {
			p.fail("clusterAdminArns", quote(arn), "each entry must be an IAM role or user ARN, like \"arn:aws:iam::123456789012:role/ci-preview\"")
		}
	}
	p.noDuplicates("clusterAdminArns", c.AdminARNs)
	if c.Name != "" && !eksName.MatchString(c.Name) {
		p.fail("clusterName", quote(c.Name), "must be empty (Pulumi names the cluster) or 1-100 letters, digits, '-' and '_', starting with a letter or digit")
	}
	p.kubernetesVersion(c.KubernetesVersion)
	c.MaxHourlyCost = p.maxHourlyCost()
	for _, t := range c.LogTypes {
		if !slices.Contains(clusterLogTypes, t) {
			p.fail("clusterLogTypes", quote(t), "each entry must be one of "+strings.Join(clusterLogTypes, ", "))
		}
	}
	p.noDuplicates("clusterLogTypes", c.LogTypes)
	if len(c.PublicAccessCIDRs) == 0 && p.ok("publicAccessCidrs") {
		p.fail("publicAccessCidrs", "[]", "must list, because clusterMode is eks, the IPv4 CIDRs allowed to reach the cluster's public API endpoint, e.g. your egress IP as [\"198.51.100.7/32\"] (or set clusterMode to existing)")
	}
	for _, cidr := range c.PublicAccessCIDRs {
		if _, ok := parseCIDR(cidr); !ok {
			p.fail("publicAccessCidrs", quote(cidr), "each entry must be an IPv4 CIDR with no host bits set, like \"198.51.100.0/24\"")
		}
	}

	n := Network{
		VpcID:            p.str("vpcId"),
		PublicSubnetIDs:  p.list("publicSubnetIds"),
		PrivateSubnetIDs: p.list("privateSubnetIds"),
	}
	if n.VpcID != "" {
		if !vpcID.MatchString(n.VpcID) {
			p.fail("vpcId", quote(n.VpcID), "must be empty (the stack creates a VPC) or a VPC id like \"vpc-0a1b2c3d4e5f67890\"")
		}
		if len(n.PrivateSubnetIDs) < 2 {
			p.fail("privateSubnetIds", jsonText(n.PrivateSubnetIDs), "must list at least two subnets of vpcId, in different availability zones, for the nodes")
		}
		for _, subnets := range n.subnetLists() {
			key, ids := subnets.key, subnets.ids
			for _, id := range ids {
				if !subnetID.MatchString(id) {
					p.fail(key, quote(id), "each entry must be a subnet id like \"subnet-0a1b2c3d4e5f67890\"")
				}
			}
			p.noDuplicates(key, ids)
		}
	} else {
		for _, subnets := range n.subnetLists() {
			key, ids := subnets.key, subnets.ids
			if len(ids) > 0 {
				p.fail(key, jsonText(ids), "must be empty unless vpcId names the VPC these subnets belong to")
			}
		}
		raw := p.str("vpcCidr")
		prefix, ok := parseCIDR(raw)
		if !ok || prefix.Bits() < minVPCPrefixBits || prefix.Bits() > maxVPCPrefixBits {
			p.fail("vpcCidr", quote(raw), fmt.Sprintf("must be an IPv4 CIDR from /%d to /%d with no host bits set, like \"10.0.0.0/16\"", minVPCPrefixBits, maxVPCPrefixBits))
		}
		n.CIDR = prefix
		n.AvailabilityZones = p.integer("availabilityZoneCount", minAZs, maxAZs)
		n.NATGatewayPerAZ = p.boolean("natGatewayPerAz")
	}
	c.Network = n

	g := NodeGroup{
		InstanceTypes: p.instanceTypes("nodeInstanceTypes", "the workers' node group", "c6i.xlarge"),
		CapacityType:  p.oneOf("nodeCapacityType", capacityTypes...),
		MinSize:       p.integer("nodeMinSize", 0, maxNodes),
		DesiredSize:   p.integer("nodeDesiredSize", 0, maxNodes),
		MaxSize:       p.integer("nodeMaxSize", 1, maxNodes),
		DiskSizeGiB:   p.integer("nodeDiskSize", minDiskGiB, maxDiskGiB),
	}
	if p.ok("nodeMinSize", "nodeMaxSize") && g.MinSize > g.MaxSize {
		p.fail("nodeMinSize", strconv.Itoa(g.MinSize), fmt.Sprintf("must not exceed nodeMaxSize (%d)", g.MaxSize))
	}
	if p.ok("nodeMinSize", "nodeDesiredSize", "nodeMaxSize") && g.DesiredSize != 0 && (g.DesiredSize < g.MinSize || g.DesiredSize > g.MaxSize) {
		p.fail("nodeDesiredSize", strconv.Itoa(g.DesiredSize), fmt.Sprintf("must be 0 (sized from the workers) or from nodeMinSize (%d) to nodeMaxSize (%d)", g.MinSize, g.MaxSize))
	}
	c.NodeGroup = g
	c.SystemInstanceTypes = p.instanceTypes("systemNodeInstanceTypes", "the master's on-demand node group", "m6i.large")
	return c
}

// instanceTypes reads a non-empty list of EC2 instance types for a node
// group; whether EC2 offers them is asked at preview (ekscluster).
func (p *parser) instanceTypes(key, group, example string) []string {
	types := p.list(key)
	if len(types) == 0 && p.ok(key) {
		p.fail(key, "[]", fmt.Sprintf("must list at least one EC2 instance type for %s, like [%q]", group, example))
	}
	for _, t := range types {
		if !instanceType.MatchString(t) {
			p.fail(key, quote(t), fmt.Sprintf("each entry must be an EC2 instance type like %q", example))
		}
	}
	p.noDuplicates(key, types)
	return types
}

// awsCredentials reads how the AWS provider authenticates: aws:region,
// aws:profile and aws:assumeRole's roleArn, so that the Kubernetes provider
// can authenticate as the same identity.
func (p *parser) awsCredentials() ekscluster.Credentials {
	c := ekscluster.Credentials{Region: p.str("aws:region"), Profile: p.str("aws:profile")}
	if raw := p.str("aws:assumeRole"); raw != "" {
		var role struct {
			RoleARN string `json:"roleArn"`
		}
		if err := json.Unmarshal([]byte(raw), &role); err != nil || !assumedRoleARN.MatchString(role.RoleARN) {
			p.fail("aws:assumeRole", "a value without a valid roleArn", "must be an object with roleArn, the IAM role the AWS provider assumes, which the Kubernetes provider then assumes too")
		}
		c.RoleARN = role.RoleARN
	}
	if raw := p.str("aws:assumeRoles"); raw != "" && raw != "[]" {
		p.fail("aws:assumeRoles", "a chain of roles", "is not supported: `aws eks get-token` assumes one role; use aws:assumeRole")
	}
	// The AWS provider would use these, the Kubernetes provider's
	// `aws eks get-token` would not (it takes only --region, --profile and
	// --role-arn): the two would act as different identities, and the
	// Kubernetes side fail as unauthorized or act as someone else.
	for _, key := range unsupportedAWSCredentials {
		if _, set, _ := p.lookup(key); set {
			p.fail(key, "a value (not shown)", "is not supported: the Kubernetes provider's `aws eks get-token` cannot use it. Give credentials through the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, as CI's OIDC does), a profile (aws:profile) or aws:assumeRole")
		}
	}
	return c
}

// unsupportedAWSCredentials are pulumi-aws provider settings that carry
// credentials the AWS CLI's get-token cannot take as options.
var unsupportedAWSCredentials = []string{
	"aws:accessKey", "aws:secretKey", "aws:token", "aws:assumeRoleWithWebIdentity",
	"aws:sharedCredentialsFiles", "aws:sharedConfigFiles",
}
