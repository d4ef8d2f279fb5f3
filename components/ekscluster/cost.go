package ekscluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Cost is what the stack's AWS resources cost per hour while it exists,
// worked out at preview from AWS's own prices: the EKS control plane, both
// node groups at their planned size, the NAT gateways, the nodes' root
// volumes and the network load balancers' hours. NotPriced names what it
// leaves out.
type Cost struct {
	HourlyUSD float64
	Items     []CostItem
	// PriceDate is the newest publication date of the prices used.
	PriceDate string
	// Unpriced are items the estimate could not price, with why; the total
	// leaves them out.
	Unpriced []string
}

// CostItem is one priced part of the stack.
type CostItem struct {
	Name      string
	Detail    string
	HourlyUSD float64
	Source    string
	// Lowers are the config keys that make the item cheaper.
	Lowers []string
}

// NotPriced are the stack's costs the estimate leaves out: they depend on
// use, not on the stack's shape, or are too small to change a decision.
// Public IPv4 and NAT processing prices: https://aws.amazon.com/vpc/pricing/.
var NotPriced = []string{
	"data transfer and the NAT gateways' per-GB processing (all traffic to a target outside the VPC)",
	"public IPv4 addresses, $0.005 an hour each (the NAT gateways', and an internet-facing network load balancer's, one per zone)",
	"load balancers' capacity units (LCUs, by traffic), and an ingress controller's own load balancer",
	"CloudWatch Logs of the control plane (clusterLogTypes), whose log group EKS creates and destroy leaves behind",
	"the results bucket",
}

// estimateCost prices the plan; extended bills the control plane the
// extended-support surcharge, as EKS said of the version at preview. A part
// without a price is named in Unpriced; with a ceiling set that is an error,
// since the ceiling could not be checked.
func estimateCost(ctx *pulumi.Context, args *ClusterArgs, plan NodePlan, extended bool) (Cost, error) {
	p, err := newPricer(ctx, args.Credentials)
	if err != nil {
		return Cost{}, err
	}
	var c Cost
	add := func(name string, lowers []string, f func() (detail string, hourly float64, at price, err error)) {
		detail, hourly, at, err := f()
		if err != nil {
			c.Unpriced = append(c.Unpriced, fmt.Sprintf("%s: %v", name, err))
			return
		}
		c.Items = append(c.Items, CostItem{Name: name, Detail: detail, HourlyUSD: hourly, Source: at.source, Lowers: lowers})
		c.HourlyUSD += hourly
		if d := dateOnly(at.date); d > c.PriceDate {
			c.PriceDate = d
		}
	}

	add("EKS control plane", controlPlaneLowers(extended), func() (string, float64, price, error) {
		return p.controlPlane(extended)
	})
	add("system nodes", []string{"systemNodeInstanceTypes"}, func() (string, float64, price, error) {
		return p.nodes(plan.System, "ON_DEMAND", args.SystemInstanceTypes, nil)
	})
	zones, zerr := p.spotZones(args)
	add("worker nodes", []string{"workers", "workerCpuRequest", "nodeInstanceTypes", "nodeCapacityType (SPOT)"}, func() (string, float64, price, error) {
		if zerr != nil && args.NodeGroup.CapacityType == "SPOT" {
			return "", 0, price{}, zerr
		}
		return p.nodes(plan.Workers, args.NodeGroup.CapacityType, args.NodeGroup.InstanceTypes, zones)
	})
	if n := natGateways(args.Network); n > 0 {
		add("NAT gateways", []string{"natGatewayPerAz", "availabilityZoneCount", "vpcId (an existing VPC's NAT)"}, func() (string, float64, price, error) {
			return p.natGateways(n)
		})
	}
	add("node root volumes", []string{"nodeDiskSize"}, func() (string, float64, price, error) {
		return p.volumes(plan.System.Nodes+plan.Workers.Nodes, args.NodeGroup.DiskSizeGiB)
	})
	if n := args.NetworkLoadBalancers; n > 0 {
		add("network load balancer", []string{"webExposure (private or ingress)"}, func() (string, float64, price, error) {
			return p.networkLoadBalancers(n)
		})
	}

	if args.MaxHourlyCost > 0 {
		if len(c.Unpriced) > 0 {
			return c, fmt.Errorf("maxHourlyCost: cannot check the ceiling of $%s per hour, these have no price: %s", money(args.MaxHourlyCost), strings.Join(c.Unpriced, "; "))
		}
		if c.HourlyUSD > args.MaxHourlyCost {
			return c, fmt.Errorf("maxHourlyCost: this stack would cost $%s per hour, over the ceiling of $%s: %s. Lower it with %s, or raise maxHourlyCost",
				money(c.HourlyUSD), money(args.MaxHourlyCost), c.itemList(), strings.Join(c.lowers(), ", "))
		}
	}
	return c, nil
}

func controlPlaneLowers(extended bool) []string {
	if extended {
		return []string{"kubernetesVersion (one in standard support)"}
	}
	return nil
}

// controlPlane is one cluster's hourly price: standard support, plus the
// extended-support surcharge for a version past standard support (two
// usage types, AmazonEKS-Hours:perCluster and :extendedSupport; $0.10 and
// $0.50, "Amazon EKS pricing").
func (p *pricer) controlPlane(extended bool) (string, float64, price, error) {
	ut, err := p.usageType("AmazonEKS", "AmazonEKS-Hours:perCluster")
	if err != nil {
		return "", 0, price{}, err
	}
	base, err := p.onDemand("AmazonEKS", map[string]string{"regionCode": p.region, "locationType": regionLocation, "usagetype": ut})
	if err != nil {
		return "", 0, price{}, err
	}
	if !extended {
		return "1 cluster, standard support", base.usd, base, nil
	}
	ut, err = p.usageType("AmazonEKS", "AmazonEKS-Hours:extendedSupport")
	if err != nil {
		return "", 0, price{}, err
	}
	ext, err := p.onDemand("AmazonEKS", map[string]string{"regionCode": p.region, "locationType": regionLocation, "usagetype": ut})
	if err != nil {
		return "", 0, price{}, err
	}
	at := base
	at.source += "; " + ext.source
	at.date = max(base.date, ext.date)
	return "1 cluster, extended support", base.usd + ext.usd, at, nil
}

// nodes prices a node group at its planned size, at the dearest of its
// instance types (and, for spot, of zones): the group may land on any.
//
// A spot (type, zone) pair without a spot price is skipped and named in the
// detail: a type with no spot market in a zone is one the group cannot
// launch there (getSpotPrice fails when DescribeSpotPriceHistory has no
// row, terraform-provider-aws internal/service/ec2/ec2_spot_price_data_source.go),
// so it adds nothing to the bill. Only when no pair has a price is the item
// left unpriced, with the first pair's error. On-demand types are not
// skipped: nothing shows that the node group would do without a type the
// Price List lacks, so a missing on-demand price stays an error.
func (p *pricer) nodes(pool Pool, capacity string, types []string, zones []string) (string, float64, price, error) {
	var dearest price
	dearestType := ""
	var missing []string
	var firstErr error
	for _, t := range types {
		var candidates []price
		if capacity == "SPOT" {
			for _, z := range zones {
				at, err := p.spot(t, z)
				if err != nil {
					missing = append(missing, t+" in "+z)
					if firstErr == nil {
						firstErr = fmt.Errorf("%s in %s: %w", t, z, err)
					}
					continue
				}
				candidates = append(candidates, at)
			}
		} else {
			at, err := p.instance(t)
			if err != nil {
				return "", 0, price{}, fmt.Errorf("%s: %w", t, err)
			}
			candidates = append(candidates, at)
		}
		for _, at := range candidates {
			if dearestType == "" || at.usd > dearest.usd {
				dearest, dearestType = at, t
			}
		}
	}
	if dearestType == "" {
		if firstErr == nil {
			firstErr = fmt.Errorf("no instance type or zone to price")
		}
		return "", 0, price{}, firstErr
	}
	kind := "on-demand"
	if capacity == "SPOT" {
		kind = "spot"
	}
	detail := fmt.Sprintf("%d x %s %s at $%s", pool.Nodes, dearestType, kind, money(dearest.usd))
	if len(types) > 1 || len(zones) > 1 {
		detail += " (the dearest the group may land on)"
	}
	if len(missing) > 0 {
		detail += "; no spot price, so not launched there: " + strings.Join(missing, ", ")
	}
	return detail, float64(pool.Nodes) * dearest.usd, dearest, nil
}

// natGateways are the NAT gateways the stack creates: none in an existing
// VPC, else one per zone or one in all.
func natGateways(n NetworkArgs) int {
	switch {
	case n.existing():
		return 0
	case n.NATGatewayPerAZ:
		return n.AvailabilityZones
	default:
		return 1
	}
}

func (p *pricer) natGateways(n int) (string, float64, price, error) {
	ut, err := p.usageType("AmazonEC2", "NatGateway-Hours")
	if err != nil {
		return "", 0, price{}, err
	}
	// productFamily alone also matches RegionalNatGateway-Hours and
	// NatGateway-Bytes: the usage type picks the hourly charge.
	at, err := p.onDemand("AmazonEC2", map[string]string{"productFamily": "NAT Gateway", "regionCode": p.region, "locationType": regionLocation, "usagetype": ut})
	if err != nil {
		return "", 0, price{}, err
	}
	return fmt.Sprintf("%d x $%s", n, money(at.usd)), float64(n) * at.usd, at, nil
}

// networkLoadBalancers prices n NLBs' hours. The family alone also matches
// their capacity units (LCUUsage) and the Outposts and trust-store hours:
// the usage type picks the hourly charge.
func (p *pricer) networkLoadBalancers(n int) (string, float64, price, error) {
	ut, err := p.usageType("AWSELB", "LoadBalancerUsage")
	if err != nil {
		return "", 0, price{}, err
	}
	at, err := p.onDemand("AWSELB", map[string]string{"productFamily": "Load Balancer-Network", "regionCode": p.region, "locationType": regionLocation, "usagetype": ut})
	if err != nil {
		return "", 0, price{}, err
	}
	return fmt.Sprintf("%d x $%s, plus capacity units by traffic", n, money(at.usd)), float64(n) * at.usd, at, nil
}

// volumes prices the nodes' gp3 root volumes (the launch template's), per
// GB-month turned into hours.
func (p *pricer) volumes(nodes, gib int) (string, float64, price, error) {
	at, err := p.onDemand("AmazonEC2", map[string]string{"productFamily": "Storage", "volumeApiName": "gp3", "regionCode": p.region, "locationType": regionLocation})
	if err != nil {
		return "", 0, price{}, err
	}
	if at.unit != "GB-Mo" {
		return "", 0, price{}, fmt.Errorf("gp3 priced per %q, want GB-Mo", at.unit)
	}
	return fmt.Sprintf("%d x %d GiB gp3 at $%s per GB-month", nodes, gib, money(at.usd)),
		float64(nodes*gib) * at.usd / hoursPerMonth, at, nil
}

// spotZones are the zones spot nodes may land in: the stack's own, or for
// an existing VPC those of its private subnets, where the node groups run
// (each subnet's availabilityZone, ec2.LookupSubnet by ID).
func (p *pricer) spotZones(args *ClusterArgs) ([]string, error) {
	if args.NodeGroup.CapacityType != "SPOT" {
		return nil, nil
	}
	if !args.Network.existing() {
		return availabilityZones(p.ctx, args.Network.AvailabilityZones)
	}
	var zones []string
	for _, id := range args.Network.PrivateSubnetIDs {
		subnet, err := ec2.LookupSubnet(p.ctx, &ec2.LookupSubnetArgs{Id: &id})
		if err != nil {
			return nil, fmt.Errorf("privateSubnetIds: subnet %s: %w", id, err)
		}
		if !slices.Contains(zones, subnet.AvailabilityZone) {
			zones = append(zones, subnet.AvailabilityZone)
		}
	}
	slices.Sort(zones)
	return zones, nil
}

// dearestFirst is the items, the dearest first.
func (c Cost) dearestFirst() []CostItem {
	items := slices.Clone(c.Items)
	slices.SortStableFunc(items, func(a, b CostItem) int {
		switch {
		case a.HourlyUSD > b.HourlyUSD:
			return -1
		case a.HourlyUSD < b.HourlyUSD:
			return 1
		}
		return 0
	})
	return items
}

// itemList is the items with their hourly cost, dearest first.
func (c Cost) itemList() string {
	items := c.dearestFirst()
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s $%s (%s)", it.Name, money(it.HourlyUSD), it.Detail))
	}
	return strings.Join(parts, ", ")
}

// lowers are the keys that would lower the cost, of the dearest items first.
func (c Cost) lowers() []string {
	items := c.dearestFirst()
	var keys []string
	for _, it := range items {
		for _, k := range it.Lowers {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// String is the estimate as the preview prints it.
func (c Cost) String() string {
	s := fmt.Sprintf("Estimated cost: $%s per hour while the stack exists ($%s per day), at AWS prices of %s: %s. Not priced: %s.",
		money(c.HourlyUSD), money(24*c.HourlyUSD), c.PriceDate, c.itemList(), strings.Join(NotPriced, "; "))
	if len(c.Unpriced) > 0 {
		s += " No price found, left out of the total: " + strings.Join(c.Unpriced, "; ") + "."
	}
	return s
}

// Map is the estimate as a stack output.
func (c Cost) Map() pulumi.Map {
	items := pulumi.Array{}
	for _, it := range c.Items {
		items = append(items, pulumi.Map{
			"name": pulumi.String(it.Name), "detail": pulumi.String(it.Detail),
			"hourlyUsd": pulumi.Float64(round4(it.HourlyUSD)), "source": pulumi.String(it.Source),
		})
	}
	return pulumi.Map{
		"hourlyUsd": pulumi.Float64(round4(c.HourlyUSD)),
		"priceDate": pulumi.String(c.PriceDate),
		"items":     items,
		"notPriced": pulumi.ToStringArray(append(slices.Clone(NotPriced), c.Unpriced...)),
	}
}

// money writes dollars to the cent, and below a dollar to a hundredth of a
// cent where that shows ($0.0416 an hour for a t3.medium).
func money(usd float64) string {
	if usd >= 1 {
		return fmt.Sprintf("%.2f", usd)
	}
	s := fmt.Sprintf("%.4f", usd)
	for strings.HasSuffix(s, "0") && len(s) > len("0.00") {
		s = s[:len(s)-1]
	}
	return s
}

func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }
