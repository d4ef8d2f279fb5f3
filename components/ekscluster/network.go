package ekscluster

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// network is what the cluster needs to know of its VPC, created or not.
type network struct {
	id             pulumi.StringPtrInput
	publicSubnets  pulumi.StringArrayInput
	privateSubnets pulumi.StringArrayInput
	// egress are the private subnets' route table associations, through
	// which nodes reach the EKS API, ECR and the target by NAT: nodes
	// created before them cannot join, and deleting them first strands
	// nodes mid-drain. Empty for an existing VPC.
	egress []pulumi.Resource
	// egressIPs are the NAT gateways' Elastic IPs, the public addresses
	// the nodes' traffic to the internet leaves from. Empty for an
	// existing VPC, whose routes this program does not know.
	egressIPs pulumi.StringArray
}

func (n NetworkArgs) existing() bool { return n.VpcID != "" }

func existingNetwork(n NetworkArgs) network {
	return network{
		id:             pulumi.String(n.VpcID),
		publicSubnets:  pulumi.ToStringArray(n.PublicSubnetIDs),
		privateSubnets: pulumi.ToStringArray(n.PrivateSubnetIDs),
	}
}

// Subnet sizing. With VPC CNI every pod takes a VPC address, so the private
// subnets, where nodes and pods live, get the large blocks: the VPC is cut
// into eighths, zone i gets eighth i; the last eighth is cut into eighths
// again for the public subnets, which hold only NAT gateways and load
// balancers. A /16 gives /19 private (8190 addresses) and /22 public subnets.
const (
	privateSubnetBits = 3
	publicSubnetBits  = 6
	publicBlock       = 1<<privateSubnetBits - 1
)

// SubnetCIDRs returns the private and public subnet CIDRs of zone i in vpc.
// Zones 0 to 6 fit; callers allow at most 6.
func SubnetCIDRs(vpc netip.Prefix, zone int) (private, public netip.Prefix, err error) {
	if !vpc.Addr().Is4() || vpc.Bits()+publicSubnetBits > 28 {
		return private, public, fmt.Errorf("VPC CIDR %s is too small to cut into subnets (at most /22)", vpc)
	}
	if zone < 0 || zone >= publicBlock {
		return private, public, fmt.Errorf("zone index %d out of range 0-%d", zone, publicBlock-1)
	}
	private = subnet(vpc, privateSubnetBits, zone)
	public = subnet(vpc, publicSubnetBits, publicBlock<<(publicSubnetBits-privateSubnetBits)+zone)
	return private, public, nil
}

// subnet is the index-th block of vpc when it is cut into 2^extraBits blocks.
func subnet(vpc netip.Prefix, extraBits, index int) netip.Prefix {
	bits := vpc.Bits() + extraBits
	base := binary.BigEndian.Uint32(vpc.Masked().Addr().AsSlice())
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], base+uint32(index)<<(32-bits))
	return netip.PrefixFrom(netip.AddrFrom4(b), bits)
}

// newNetwork creates a VPC with a public and a private subnet in each zone,
// an internet gateway, and NAT gateways for the private subnets' egress.
// Subnets carry the tags the AWS Load Balancer Controller and the in-tree
// cloud provider look for when placing load balancers.
func newNetwork(ctx *pulumi.Context, parent pulumi.Resource, name string, args NetworkArgs, tags map[string]string) (network, error) {
	zones, err := availabilityZones(ctx, args.AvailabilityZones, pulumi.Parent(parent))
	if err != nil {
		return network{}, err
	}
	if err := warnUnavailableZones(ctx, zones, pulumi.Parent(parent)); err != nil {
		return network{}, err
	}
	b := vpcBuilder{ctx: ctx, name: name, tags: tags, opts: []pulumi.ResourceOption{pulumi.Parent(parent)}}
	vpc, igw, publicRoutes, err := b.vpc(args.CIDR)
	if err != nil {
		return network{}, err
	}

	var public, private pulumi.StringArray
	var egress []pulumi.Resource
	var egressIPs pulumi.StringArray
	var nat *ec2.NatGateway
	var eip *ec2.Eip
	for i, zone := range zones {
		privateCIDR, publicCIDR, err := SubnetCIDRs(args.CIDR, i)
		if err != nil {
			return network{}, err
		}
		suffix := fmt.Sprintf("%s-%d", name, i)
		pub, err := b.publicSubnet(vpc, publicRoutes, zone, suffix, publicCIDR)
		if err != nil {
			return network{}, err
		}
		// One gateway in the first zone serves every zone unless each zone
		// is to keep its own egress.
		if nat == nil || args.NATGatewayPerAZ {
			if nat, eip, err = b.natGateway(igw, pub, zone, suffix); err != nil {
				return network{}, err
			}
			egressIPs = append(egressIPs, eip.PublicIp)
		}
		priv, privateAssociation, err := b.privateSubnet(vpc, nat, zone, suffix, privateCIDR)
		if err != nil {
			return network{}, err
		}
		egress = append(egress, privateAssociation)

		public = append(public, pub.ID().ToStringOutput())
		private = append(private, priv.ID().ToStringOutput())
	}

	return network{id: vpc.ID().ToStringOutput(), publicSubnets: public, privateSubnets: private, egress: egress, egressIPs: egressIPs}, nil
}

// vpcBuilder creates the resources of one VPC, each a child of the cluster
// component, tagged with the stack's tags and a Name after the VPC's.
type vpcBuilder struct {
	ctx  *pulumi.Context
	name string
	tags map[string]string
	opts []pulumi.ResourceOption
}

// named is the tags of the resource whose Name ends in suffix.
func (b vpcBuilder) named(suffix string) pulumi.StringMap {
	t := pulumi.ToStringMap(b.tags)
	t["Name"] = pulumi.String(b.name + "-" + suffix)
	return t
}

// vpc creates the VPC, its internet gateway, and the route table that
// sends the public subnets' traffic through that gateway.
func (b vpcBuilder) vpc(cidr netip.Prefix) (*ec2.Vpc, *ec2.InternetGateway, *ec2.RouteTable, error) {
	vpc, err := ec2.NewVpc(b.ctx, b.name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(cidr.String()),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               b.named("vpc"),
	}, b.opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	igw, err := ec2.NewInternetGateway(b.ctx, b.name, &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  b.named("igw"),
	}, b.opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	publicRoutes, err := ec2.NewRouteTable(b.ctx, b.name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Routes: ec2.RouteTableRouteArray{
			ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()},
		},
		Tags: b.named("public"),
	}, b.opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	return vpc, igw, publicRoutes, nil
}

// publicSubnet creates zone's public subnet, where load balancers and NAT
// gateways go, on the public route table.
func (b vpcBuilder) publicSubnet(vpc *ec2.Vpc, publicRoutes *ec2.RouteTable, zone, suffix string, cidr netip.Prefix) (*ec2.Subnet, error) {
	pubTags := b.named("public-" + zone)
	pubTags["kubernetes.io/role/elb"] = pulumi.String("1")
	pub, err := ec2.NewSubnet(b.ctx, "public-"+suffix, &ec2.SubnetArgs{
		VpcId:               vpc.ID(),
		CidrBlock:           pulumi.String(cidr.String()),
		AvailabilityZone:    pulumi.String(zone),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                pubTags,
	}, b.subnetOpts()...)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRouteTableAssociation(b.ctx, "public-"+suffix, &ec2.RouteTableAssociationArgs{
		SubnetId:     pub.ID(),
		RouteTableId: publicRoutes.ID(),
	}, b.opts...); err != nil {
		return nil, err
	}
	return pub, nil
}

// subnetOpts are a subnet's options: a subnet, once created, stays in its
// zone. Its availability_zone forces a new subnet (Terraform aws_subnet),
// which would take the NAT gateway and the cluster's network with it, and
// fail on the CIDR the old one holds; the zones a run chooses may differ
// from those of the run that created the stack (a stack created while an
// earlier-named zone was left out, by an older version that chose only
// zones then available). Its Name tag follows the zone chosen now.
func (b vpcBuilder) subnetOpts() []pulumi.ResourceOption {
	return append(slices.Clone(b.opts), pulumi.IgnoreChanges([]string{"availabilityZone"}))
}

// natGateway creates a NAT gateway with its Elastic IP in the public subnet
// pub. It waits for the internet gateway, without which it cannot route.
func (b vpcBuilder) natGateway(igw *ec2.InternetGateway, pub *ec2.Subnet, zone, suffix string) (*ec2.NatGateway, *ec2.Eip, error) {
	eip, err := ec2.NewEip(b.ctx, "nat-"+suffix, &ec2.EipArgs{
		Domain: pulumi.String("vpc"),
		Tags:   b.named("nat-" + zone),
	}, b.opts...)
	if err != nil {
		return nil, nil, err
	}
	nat, err := ec2.NewNatGateway(b.ctx, "nat-"+suffix, &ec2.NatGatewayArgs{
		AllocationId: eip.ID(),
		SubnetId:     pub.ID(),
		Tags:         b.named("nat-" + zone),
	}, append(b.opts, pulumi.DependsOn([]pulumi.Resource{igw}))...)
	return nat, eip, err
}

// privateSubnet creates zone's private subnet, where nodes and pods live,
// with its own route table out through nat. The route table association it
// returns is the subnet's egress (network.egress).
func (b vpcBuilder) privateSubnet(vpc *ec2.Vpc, nat *ec2.NatGateway, zone, suffix string, cidr netip.Prefix) (*ec2.Subnet, *ec2.RouteTableAssociation, error) {
	privTags := b.named("private-" + zone)
	privTags["kubernetes.io/role/internal-elb"] = pulumi.String("1")
	priv, err := ec2.NewSubnet(b.ctx, "private-"+suffix, &ec2.SubnetArgs{
		VpcId:            vpc.ID(),
		CidrBlock:        pulumi.String(cidr.String()),
		AvailabilityZone: pulumi.String(zone),
		Tags:             privTags,
	}, b.subnetOpts()...)
	if err != nil {
		return nil, nil, err
	}
	privateRoutes, err := ec2.NewRouteTable(b.ctx, "private-"+suffix, &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Routes: ec2.RouteTableRouteArray{
			ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()},
		},
		Tags: b.named("private-" + zone),
	}, b.opts...)
	if err != nil {
		return nil, nil, err
	}
	association, err := ec2.NewRouteTableAssociation(b.ctx, "private-"+suffix, &ec2.RouteTableAssociationArgs{
		SubnetId:     priv.ID(),
		RouteTableId: privateRoutes.ID(),
	}, b.opts...)
	if err != nil {
		return nil, nil, err
	}
	return priv, association, nil
}
