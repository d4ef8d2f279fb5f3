package stackconfig

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/components/ekscluster"
)

// eksRelease is a Kubernetes minor version on the EKS release calendar and
// the days it leaves standard support (then billed as extended support,
// $0.60 instead of $0.10 per cluster hour) and extended support (then EKS
// upgrades the control plane by itself).
type eksRelease struct {
	version                      string
	endOfStandard, endOfExtended string // YYYY-MM-DD, UTC
}

// eksCalendar is the EKS release calendar. 1.32 to 1.34: the table "Amazon
// EKS Kubernetes release calendar" of the EKS user guide
// (awsdocs/amazon-eks-user-guide, latest/ug/versioning/kubernetes-versions.adoc
// at 0138560; it lists 1.29 to 1.34). 1.35: available on EKS since
// 2026-01-28 (kubernetes-versions-standard.adoc at 0e7fca3), its dates from
// endoflife.date/amazon-eks as the table has no row for it yet. 1.36 has no
// published dates in any source read: it is refused until it is added
// here, with Pulumi.yaml's default, as EKS publishes it.
var eksCalendar = []eksRelease{
	{"1.32", "2026-03-23", "2027-03-23"},
	{"1.33", "2026-07-29", "2027-07-29"},
	{"1.34", "2026-12-02", "2027-12-02"},
	{"1.35", "2027-03-27", "2028-03-27"},
}

// today is the UTC day the calendar is read against; tests set it.
var today = func() string { return time.Now().UTC().Format(time.DateOnly) }

// kubernetesVersion refuses a version EKS does not run (unknown here, or
// past extended support) and warns about one in extended support: a
// cluster created on it keeps working, billed extra, until it is upgraded.
// It reports whether the version is in extended support today.
func (p *parser) kubernetesVersion(version string) (extended bool) {
	day := today()
	var known, standard []string
	for _, r := range eksCalendar {
		known = append(known, r.version)
		if day < r.endOfStandard {
			standard = append(standard, r.version)
		}
	}
	newest := eksCalendar[len(eksCalendar)-1].version
	i := slices.IndexFunc(eksCalendar, func(r eksRelease) bool { return r.version == version })
	switch {
	case i < 0:
		p.fail("kubernetesVersion", quote(version), "must be a Kubernetes minor version on the EKS release calendar: "+strings.Join(standard, " or ")+
			" in standard support ("+strings.Join(known, ", ")+" known to this program; a newer one needs its dates added to eksCalendar in stackconfig/eks.go)")
	case day >= eksCalendar[i].endOfExtended:
		p.fail("kubernetesVersion", quote(version), "left EKS extended support on "+eksCalendar[i].endOfExtended+
			" (EKS upgrades such clusters by itself); set "+strings.Join(standard, " or ")+", one minor version above the cluster's per up")
	case day >= eksCalendar[i].endOfStandard:
		p.warn(fmt.Sprintf("kubernetesVersion %s left EKS standard support on %s: the control plane is billed as extended support ($0.60 instead of $0.10 per hour) until %s, when EKS upgrades it by itself. Upgrade one minor version per up (%s is the newest here); the node groups follow.",
			version, eksCalendar[i].endOfStandard, eksCalendar[i].endOfExtended, newest))
		return true
	}
	return false
}

// maxHourlyCost reads the ceiling on the estimated cost per hour, in USD;
// 0 when empty (none).
func (p *parser) maxHourlyCost() float64 {
	return p.positiveAmount("maxHourlyCost", math.MaxFloat64,
		"must be empty (no ceiling) or the most the stack may cost per hour, in US dollars, like \"1.50\"")
}

var (
	eksName          = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)
	assumedRoleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)
	principalARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`)
	vpcID            = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetID         = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	instanceType     = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	clusterLogTypes  = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
	capacityTypes    = []string{"ON_DEMAND", "SPOT"}
	maxWorkers       = 1000
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
	c.ExtendedSupport = p.kubernetesVersion(c.KubernetesVersion)
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
