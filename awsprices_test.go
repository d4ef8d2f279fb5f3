package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The AWS price answers, as the provider's functions give them, from the
// upstream definitions rather than from this program:
//
//   - aws.pricing.getProduct (pulumi-aws sdk/v6 go/aws/pricing/getProduct.go:
//     serviceCode, filters {field, value}; result, the product's Price List
//     document as a JSON string) is terraform-provider-aws
//     internal/service/pricing/product_data_source.go: one GetProducts call
//     with every filter TERM_MATCH; no product fails with "Pricing product
//     query did not return any elements", several with "Pricing product
//     query not precise enough. Returned %d elements"; result is
//     PriceList[0] as AWS sent it. It is served only by a provider in
//     us-east-1, eu-central-1 or ap-south-1 (the AWS Billing user guide's
//     Price List endpoints; the data source's documentation names the
//     first and last).
//   - A Price List document's shape (product.sku, productFamily and
//     attributes; terms.OnDemand["<sku>.JRTCKXETXF"].priceDimensions
//     ["<sku>.JRTCKXETXF.6YS6EN2CT7"] with unit, description and
//     pricePerUnit.USD; serviceCode, version, publicationDate) is that of
//     a real GetProducts answer for m5.large in us-east-1 and of the AWS
//     Billing user guide, "Reading the service price list file".
//   - aws.ec2.getSpotPrice (go/aws/ec2/getSpotPrice.go) is
//     internal/service/ec2/ec2_spot_price_data_source.go:
//     DescribeSpotPriceHistory from now, with the type, zone and filters;
//     it fails with "no matching EC2 Spot Price found" on none and
//     "multiple EC2 Spot Prices matched; use additional constraints to
//     reduce matches to a single EC2 Spot Price" on several; spotPrice is
//     AWS's string ("0.087000"), spotPriceTimestamp RFC 3339, id the region.
//
// Real GetProducts documents carry "marketoption":"OnDemand" on EC2
// instance products (Capacity Blocks for ML share instanceType, regionCode
// and usage type with marketoption "CapacityBlock") and "locationType":"AWS
// Region" on the regional products of every service (grafana/cloudcost-exporter
// pkg/aws/ec2/pricing_map_test.go; Karpenter filters marketoption,
// aws/karpenter-provider-aws pkg/providers/pricing/pricing.go).
//
// The catalogue holds, beside each product the stack prices, the products
// a loose filter would also match, as the real Price List does: reserved
// capacity and Windows rows of each instance type, RegionalNatGateway-Hours
// and NatGateway-Bytes beside NatGateway-Hours, the EKS Outposts control
// plane beside the regional one, gp2 and gp3 IOPS beside gp3 storage, and
// for Elastic Load Balancing (service code AWSELB, family "Load
// Balancer-Network"; its us-east-1 usage types unprefixed like EC2's) the
// capacity-unit, Outposts and trust-store rows beside the NLB's hours, and
// the ALB's hours in their own family.
//
// Prices are AWS's published list prices (EC2 on-demand Linux, EKS $0.10
// per cluster-hour and $0.50 more in extended support, NAT gateway $0.045
// per hour, gp3 $0.08 per GB-month, an NLB $0.0225 per hour and $0.006 per
// LCU-hour, in us-east-1; $0.0252 per NLB hour in eu-west-1, $0.027 in
// eu-central-1; t3.medium $0.0456 and $0.048 there); they are not fetched
// here (no internet), and the tests check the arithmetic and the requests,
// not AWS's current prices.

// priceListProduct is one product of the mocked Price List.
type priceListProduct struct {
	service, family string
	attributes      map[string]string
	usd             string
	unit            string
	description     string
}

// document is the product as GetProducts returns it.
func (p priceListProduct) document(sku string) string {
	doc := map[string]any{
		"product":         map[string]any{"sku": sku, "productFamily": p.family, "attributes": p.attributes},
		"serviceCode":     p.service,
		"version":         "20261120193512",
		"publicationDate": "2026-11-20T19:35:12Z",
		"terms": map[string]any{"OnDemand": map[string]any{sku + ".JRTCKXETXF": map[string]any{
			"offerTermCode": "JRTCKXETXF", "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "termAttributes": map[string]any{},
			"priceDimensions": map[string]any{sku + ".JRTCKXETXF.6YS6EN2CT7": map[string]any{
				"rateCode": sku + ".JRTCKXETXF.6YS6EN2CT7", "description": p.description, "unit": p.unit,
				"beginRange": "0", "endRange": "Inf", "appliesTo": []any{}, "pricePerUnit": map[string]any{"USD": p.usd},
			}},
		}}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// onDemandUSD are EC2's Linux on-demand prices per hour by region and type.
var onDemandUSD = map[string]map[string]string{
	"us-east-1": {
		"t3.medium": "0.0416000000", "c5.large": "0.0850000000", "c6i.large": "0.0850000000", "c6a.large": "0.0765000000",
		"c6i.xlarge": "0.1700000000", "c6i.4xlarge": "0.6800000000", "m6i.large": "0.0960000000", "m6i.xlarge": "0.1920000000",
		"c6in.32xlarge": "7.2576000000",
	},
	"eu-west-1":    {"t3.medium": "0.0456000000"},
	"eu-central-1": {"t3.medium": "0.0480000000"},
}

// regionNames are the Price List's location attribute per region code.
var regionNames = map[string]string{"us-east-1": "US East (N. Virginia)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)"}

// billingCodes are the regions' usage-type prefixes (AWS Region billing
// codes, https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html).
var billingCodes = map[string]string{"us-east-1": "USE1", "eu-west-1": "EU", "eu-central-1": "EUC1"}

// priceCatalogue is the mocked Price List of the regions above.
func priceCatalogue() []priceListProduct {
	var out []priceListProduct
	for _, region := range slices.Sorted(maps.Keys(onDemandUSD)) {
		types := onDemandUSD[region]
		ec2Prefix, eksPrefix := billingCodes[region]+"-", billingCodes[region]+"-"
		if region == "us-east-1" {
			ec2Prefix = ""
		}
		loc := map[string]string{"regionCode": region, "location": regionNames[region], "locationType": "AWS Region"}
		with := func(extra map[string]string) map[string]string {
			out := map[string]string{}
			for k, v := range loc {
				out[k] = v
			}
			for k, v := range extra {
				out[k] = v
			}
			return out
		}
		for _, typ := range slices.Sorted(maps.Keys(types)) {
			usd := types[typ]
			for _, variant := range []struct{ os, capacity, usage, usd string }{
				{"Linux", "Used", "BoxUsage:", usd},
				{"Linux", "UnusedCapacityReservation", "UnusedBox:", usd},
				{"Windows", "Used", "BoxUsage:", "0.1840000000"},
			} {
				out = append(out, priceListProduct{service: "AmazonEC2", family: "Compute Instance", unit: "Hrs", usd: variant.usd,
					description: fmt.Sprintf("$%s per On Demand %s %s Instance Hour", strings.TrimRight(variant.usd, "0"), variant.os, typ),
					attributes: with(map[string]string{"instanceType": typ, "operatingSystem": variant.os, "tenancy": "Shared", "preInstalledSw": "NA", "marketoption": "OnDemand",
						"capacitystatus": variant.capacity, "licenseModel": "No License required", "usagetype": ec2Prefix + variant.usage + typ,
						"operation": "RunInstances", "servicecode": "AmazonEC2"})})
			}
		}
		out = append(out,
			priceListProduct{service: "AmazonEKS", family: "Compute", unit: "Hours", usd: "0.1000000000", description: "Amazon EKS cluster usage",
				attributes: with(map[string]string{"usagetype": eksPrefix + "AmazonEKS-Hours:perCluster", "operation": "CreateOperation"})},
			priceListProduct{service: "AmazonEKS", family: "Compute", unit: "Hours", usd: "0.5000000000", description: "Amazon EKS cluster extended support",
				attributes: with(map[string]string{"usagetype": eksPrefix + "AmazonEKS-Hours:extendedSupport", "operation": "ExtendedSupport"})},
			priceListProduct{service: "AmazonEKS", family: "Compute", unit: "Hours", usd: "0.0000000000", description: "Amazon EKS local cluster on Outposts",
				attributes: map[string]string{"regionCode": region, "locationType": "AWS Outposts", "usagetype": eksPrefix + "AmazonEKS-Local-Outposts-Hours:perCluster", "operation": "CreateOperation"}},
			priceListProduct{service: "AmazonEC2", family: "NAT Gateway", unit: "Hrs", usd: "0.0450000000", description: "$0.045 per NAT Gateway Hour",
				attributes: with(map[string]string{"usagetype": ec2Prefix + "NatGateway-Hours", "operation": "NatGateway"})},
			priceListProduct{service: "AmazonEC2", family: "NAT Gateway", unit: "Hrs", usd: "0.0450000000", description: "$0.045 per Regional NAT Gateway Hour",
				attributes: with(map[string]string{"usagetype": ec2Prefix + "RegionalNatGateway-Hours", "operation": "NatGateway"})},
			priceListProduct{service: "AmazonEC2", family: "NAT Gateway", unit: "GB", usd: "0.0450000000", description: "$0.045 per GB Data Processed by NAT Gateways",
				attributes: with(map[string]string{"usagetype": ec2Prefix + "NatGateway-Bytes", "operation": "NatGateway"})},
			priceListProduct{service: "AmazonEC2", family: "Storage", unit: "GB-Mo", usd: "0.0800000000", description: "$0.08 per GB-month of General Purpose (gp3) provisioned storage",
				attributes: with(map[string]string{"volumeApiName": "gp3", "volumeType": "General Purpose", "usagetype": ec2Prefix + "EBS:VolumeUsage.gp3"})},
			priceListProduct{service: "AmazonEC2", family: "Storage", unit: "GB-Mo", usd: "0.1000000000", description: "$0.10 per GB-month of General Purpose SSD (gp2) provisioned storage",
				attributes: with(map[string]string{"volumeApiName": "gp2", "volumeType": "General Purpose", "usagetype": ec2Prefix + "EBS:VolumeUsage.gp2"})},
			priceListProduct{service: "AmazonEC2", family: "System Operation", unit: "IOPS-Mo", usd: "0.0050000000", description: "$0.005 per IOPS-month provisioned - gp3",
				attributes: with(map[string]string{"volumeApiName": "gp3", "usagetype": ec2Prefix + "EBS:VolumeP-IOPS.gp3"})},
		)
		nlbHour := map[string]string{"us-east-1": "0.0225000000", "eu-west-1": "0.0252000000", "eu-central-1": "0.0270000000"}[region]
		for _, row := range []struct{ family, usage, unit, usd, description, locationType string }{
			{"Load Balancer-Network", "LoadBalancerUsage", "Hrs", nlbHour, "per Network LoadBalancer-hour (or partial hour)", "AWS Region"},
			{"Load Balancer-Network", "LCUUsage", "LCU-Hrs", "0.0060000000", "per used Network load balancer capacity unit-hour", "AWS Region"},
			{"Load Balancer-Network", "Outposts-LoadBalancerUsage", "Hrs", "0.0000000000", "per Network LoadBalancer-hour on Outposts", "AWS Outposts"},
			{"Load Balancer-Network", "TS-LoadBalancerUsage", "Hrs", "0.0050000000", "per trust store hour", "AWS Region"},
			{"Load Balancer-Application", "LoadBalancerUsage", "Hrs", "0.0225000000", "per Application LoadBalancer-hour (or partial hour)", "AWS Region"},
		} {
			out = append(out, priceListProduct{service: "AWSELB", family: row.family, unit: row.unit, usd: row.usd, description: "$" + strings.TrimRight(row.usd, "0") + " " + row.description,
				attributes: map[string]string{"regionCode": region, "location": regionNames[region], "locationType": row.locationType,
					"usagetype": ec2Prefix + row.usage, "operation": "LoadBalancing:" + strings.TrimPrefix(row.family, "Load Balancer-")}})
		}
	}
	return out
}

// priceRequests are the filters of every getProduct call since the last
// reset, with the service code under "serviceCode".
var priceRequests []map[string]string

// getProduct answers aws:pricing/getProduct; providerRegion is the region of
// the provider the call went through.
func getProduct(args resource.PropertyMap, providerRegion string) (resource.PropertyMap, error) {
	request := map[string]string{"serviceCode": args["serviceCode"].StringValue()}
	for _, f := range args["filters"].ArrayValue() {
		request[f.ObjectValue()["field"].StringValue()] = f.ObjectValue()["value"].StringValue()
	}
	priceRequests = append(priceRequests, request)
	if providerRegion != "us-east-1" && providerRegion != "eu-central-1" && providerRegion != "ap-south-1" {
		return nil, fmt.Errorf("reading Pricing Products: dial tcp: lookup api.pricing.%s.amazonaws.com: no such host", providerRegion)
	}
	service := args["serviceCode"].StringValue()
	var matched []string
	for i, p := range priceCatalogue() {
		if p.service != service {
			continue
		}
		match := true
		for _, f := range args["filters"].ArrayValue() {
			field, value := f.ObjectValue()["field"].StringValue(), f.ObjectValue()["value"].StringValue()
			got, ok := p.attributes[field]
			if field == "productFamily" {
				got, ok = p.family, true
			}
			if !ok || got != value {
				match = false
				break
			}
		}
		if match {
			matched = append(matched, p.document(fmt.Sprintf("SKU%013d", i)))
		}
	}
	switch len(matched) {
	case 0:
		return nil, fmt.Errorf("Pricing product query did not return any elements")
	case 1:
		return resource.NewPropertyMapFromMap(map[string]any{"serviceCode": service, "filters": args["filters"].Mappable(), "result": matched[0], "id": "3417392614"}), nil
	}
	return nil, fmt.Errorf("Pricing product query not precise enough. Returned %d elements", len(matched))
}

// spotRow is one row of DescribeSpotPriceHistory.
type spotRow struct{ zone, typ, description, usd string }

// spotPrices are the spot rows in effect now: per zone and type the Linux
// price, beside SUSE and Windows rows a missing product-description filter
// would also match. c6i.xlarge has a spot market in us-east-1b only: in the
// other zones DescribeSpotPriceHistory has no row for it, and getSpotPrice
// fails there as it does for c6i.4xlarge everywhere.
func spotPrices() []spotRow {
	linux := map[string]map[string]string{
		"c6i.large":  {"us-east-1a": "0.034100", "us-east-1b": "0.036900", "us-east-1d": "0.031200", "us-east-1e": "0.033000", "us-east-1f": "0.035500"},
		"c6a.large":  {"us-east-1a": "0.030800", "us-east-1b": "0.029900", "us-east-1d": "0.041700", "us-east-1e": "0.028000", "us-east-1f": "0.030100"},
		"c5.large":   {"us-east-1a": "0.038200", "us-east-1b": "0.035700", "us-east-1d": "0.034400", "us-east-1e": "0.039900", "us-east-1f": "0.036000"},
		"c6i.xlarge": {"us-east-1b": "0.071200"},
	}
	var rows []spotRow
	for typ, zones := range linux {
		for zone, usd := range zones {
			rows = append(rows, spotRow{zone, typ, "Linux/UNIX", usd}, spotRow{zone, typ, "SUSE Linux", "0.099000"}, spotRow{zone, typ, "Windows", "0.121000"})
		}
	}
	return rows
}

// getSpotPrice answers aws:ec2/getSpotPrice.
func getSpotPrice(args resource.PropertyMap) (resource.PropertyMap, error) {
	str := func(k string) string {
		if v, ok := args[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	var matched []spotRow
	for _, r := range spotPrices() {
		if (str("instanceType") != "" && r.typ != str("instanceType")) || (str("availabilityZone") != "" && r.zone != str("availabilityZone")) {
			continue
		}
		ok := true
		if f, has := args["filters"]; has && f.IsArray() {
			for _, filter := range f.ArrayValue() {
				name := filter.ObjectValue()["name"].StringValue()
				field := map[string]string{"product-description": r.description, "instance-type": r.typ, "availability-zone": r.zone}[name]
				in := false
				for _, v := range filter.ObjectValue()["values"].ArrayValue() {
					in = in || v.StringValue() == field
				}
				ok = ok && in
			}
		}
		if ok {
			matched = append(matched, r)
		}
	}
	switch len(matched) {
	case 0:
		return nil, fmt.Errorf("no matching EC2 Spot Price found")
	case 1:
		r := matched[0]
		return resource.NewPropertyMapFromMap(map[string]any{"availabilityZone": r.zone, "instanceType": r.typ, "spotPrice": r.usd,
			"spotPriceTimestamp": "2026-12-01T06:14:07Z", "id": "us-east-1", "filters": args["filters"].Mappable()}), nil
	}
	return nil, fmt.Errorf("multiple EC2 Spot Prices matched; use additional constraints to reduce matches to a single EC2 Spot Price")
}

// providerRegion is the region of the AWS provider a call went through
// (ref is "URN::ID"): the stack's aws:region for the default provider, else
// the explicit provider's region input.
func providerRegion(m *pulumimock.Monitor, ref, stackRegion string) string {
	_, rest, ok := strings.Cut(ref, "pulumi:providers:aws::")
	name, _, _ := strings.Cut(rest, "::")
	if !ok || strings.HasPrefix(name, "default") {
		return stackRegion
	}
	if p, found := m.Get("pulumi:providers:aws", name); found && p.Inputs["region"].IsString() {
		return p.Inputs["region"].StringValue()
	}
	return ""
}

// subnet is one subnet as DescribeSubnets reports it.
type subnet struct{ id, vpc, zone, zoneID, cidr string }

// existingSubnets are the subnets of the existing VPC the tests name: two
// private ones in us-east-1a and us-east-1b and a public one, zone names
// and IDs as in usEast1.
var existingSubnets = []subnet{
	{"subnet-0a1b2c3d", "vpc-0a1b2c3d", "us-east-1a", "use1-az6", "10.1.0.0/19"},
	{"subnet-1a1b2c3d", "vpc-0a1b2c3d", "us-east-1b", "use1-az1", "10.1.32.0/19"},
	{"subnet-2a1b2c3d", "vpc-0a1b2c3d", "us-east-1a", "use1-az6", "10.1.224.0/22"},
}

// getSubnet answers aws:ec2/getSubnet (pulumi-aws sdk/v6 go/aws/ec2/getSubnet.go,
// LookupSubnet) as terraform-provider-aws's aws_subnet data source does
// (internal/service/ec2/vpc_subnet_data_source.go, dataSourceSubnetRead):
// DescribeSubnets by the id argument, filtered by vpcId and
// availabilityZone when given; exactly one subnet or an error from
// tfresource.SingularDataSourceFindError, "no matching EC2 Subnet found"
// (an unknown ID is InvalidSubnetID.NotFound, which findSubnets turns into
// the same not-found) or "multiple EC2 Subnets matched; use additional
// constraints to reduce matches to a single EC2 Subnet". The id of the
// result is the subnet's.
func getSubnet(args resource.PropertyMap) (resource.PropertyMap, error) {
	str := func(k string) string {
		if v, ok := args[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	var matched []subnet
	for _, s := range existingSubnets {
		if (str("id") == "" || s.id == str("id")) && (str("vpcId") == "" || s.vpc == str("vpcId")) &&
			(str("availabilityZone") == "" || s.zone == str("availabilityZone")) {
			matched = append(matched, s)
		}
	}
	switch len(matched) {
	case 0:
		return nil, fmt.Errorf("no matching EC2 Subnet found")
	case 1:
		s := matched[0]
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": s.id, "arn": "arn:aws:ec2:us-east-1:123456789012:subnet/" + s.id, "vpcId": s.vpc,
			"availabilityZone": s.zone, "availabilityZoneId": s.zoneID, "cidrBlock": s.cidr, "state": "available",
			"ownerId": "123456789012", "availableIpAddressCount": 8000, "defaultForAz": false, "mapPublicIpOnLaunch": false,
		}), nil
	}
	return nil, fmt.Errorf("multiple EC2 Subnets matched; use additional constraints to reduce matches to a single EC2 Subnet")
}
