package ekscluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/pricing"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PriceListRegions are the regions whose endpoint answers the AWS Price List
// Query API (pulumi-aws aws.pricing.getProduct: "only available in a
// us-east-1 or ap-south-1 provider"). Its prices cover every region.
var PriceListRegions = []string{"us-east-1", "ap-south-1"}

// billingCodes are the region prefixes of AWS usage types (the AWS
// General Reference, "AWS Region billing codes"). EKS prefixes its usage
// types in every region (USE1-AmazonEKS-Hours:perCluster); EC2 in all but
// us-east-1 (NatGateway-Hours there, EUC1-NatGateway-Hours in Frankfurt).
var billingCodes = map[string]string{
	"us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
	"ca-central-1": "CAN1", "sa-east-1": "SAE1",
	"eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1", "eu-north-1": "EUN1",
	"ap-south-1": "APS3", "ap-northeast-1": "APN1", "ap-northeast-2": "APN2", "ap-northeast-3": "APN3",
	"ap-southeast-1": "APS1", "ap-southeast-2": "APS2",
}

// hoursPerMonth is AWS's conversion of monthly prices (EBS per GB-month)
// to hours: 730 (the EC2 and EBS pricing pages' examples).
const hoursPerMonth = 730

// priceDocument is the part of one Price List document (GetProducts'
// PriceList entries, which getProduct returns as its result) that prices
// an on-demand unit: "Reading the service price list file for an AWS
// service" in the AWS Billing user guide. In the Query API's documents the
// OnDemand terms are keyed by "<sku>.<offerTermCode>" directly.
type priceDocument struct {
	Product struct {
		SKU string `json:"sku"`
	} `json:"product"`
	Terms struct {
		OnDemand map[string]struct {
			EffectiveDate   string `json:"effectiveDate"`
			PriceDimensions map[string]struct {
				Description  string            `json:"description"`
				Unit         string            `json:"unit"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
		} `json:"OnDemand"`
	} `json:"terms"`
	PublicationDate string `json:"publicationDate"`
}

// price is one unit price and where it came from.
type price struct {
	usd    float64
	unit   string
	source string
	date   string // when the price was published, RFC 3339
}

// pricer asks AWS for prices: the Price List through a provider in one of
// PriceListRegions, spot prices through the stack's own.
type pricer struct {
	ctx      *pulumi.Context
	region   string
	priceOpt []pulumi.InvokeOption
}

// onDemand is the single on-demand price of the one product the filters
// describe (getProduct fails unless exactly one matches).
func (p *pricer) onDemand(service string, filters map[string]string) (price, error) {
	args := &pricing.GetProductArgs{ServiceCode: service}
	for _, field := range slices.Sorted(maps.Keys(filters)) {
		args.Filters = append(args.Filters, pricing.GetProductFilter{Field: field, Value: filters[field]})
	}
	res, err := pricing.GetProduct(p.ctx, args, p.priceOpt...)
	if err != nil {
		return price{}, err
	}
	var doc priceDocument
	if err := json.Unmarshal([]byte(res.Result), &doc); err != nil {
		return price{}, fmt.Errorf("reading the Price List document: %w", err)
	}
	var found []price
	for _, term := range doc.Terms.OnDemand {
		for _, dim := range term.PriceDimensions {
			usd, err := strconv.ParseFloat(dim.PricePerUnit["USD"], 64)
			if err != nil {
				return price{}, fmt.Errorf("SKU %s: price %q is no USD amount", doc.Product.SKU, dim.PricePerUnit["USD"])
			}
			found = append(found, price{usd: usd, unit: dim.Unit, date: doc.PublicationDate,
				source: fmt.Sprintf("Price List %s SKU %s, effective %s: %s", service, doc.Product.SKU, dateOnly(term.EffectiveDate), dim.Description)})
		}
	}
	if len(found) != 1 {
		return price{}, fmt.Errorf("SKU %s has %d on-demand prices, want one", doc.Product.SKU, len(found))
	}
	return found[0], nil
}

// instance is the on-demand price of a Linux instance of typ, shared
// tenancy, no pre-installed software: the filters of pulumi-aws's
// getProduct example and terraform-provider-aws's own test, by region code.
func (p *pricer) instance(typ string) (price, error) {
	return p.onDemand("AmazonEC2", map[string]string{
		"instanceType": typ, "regionCode": p.region, "operatingSystem": "Linux", "tenancy": "Shared", "capacitystatus": "Used",
		"preInstalledSw": "NA", "licenseModel": "No License required",
	})
}

// spot is the current spot price of a Linux instance of typ in zone
// (aws.ec2.getSpotPrice: the price in effect now; it fails unless the type,
// zone and product description pick exactly one).
func (p *pricer) spot(typ, zone string) (price, error) {
	res, err := ec2.GetSpotPrice(p.ctx, &ec2.GetSpotPriceArgs{
		InstanceType: &typ, AvailabilityZone: &zone,
		Filters: []ec2.GetSpotPriceFilter{{Name: "product-description", Values: []string{"Linux/UNIX"}}},
	})
	if err != nil {
		return price{}, err
	}
	usd, err := strconv.ParseFloat(res.SpotPrice, 64)
	if err != nil {
		return price{}, fmt.Errorf("spot price of %s in %s: %q is no amount", typ, zone, res.SpotPrice)
	}
	return price{usd: usd, unit: "Hrs", date: res.SpotPriceTimestamp,
		source: fmt.Sprintf("EC2 spot price of %s in %s at %s", typ, zone, res.SpotPriceTimestamp)}, nil
}

// usageType is a usage type as the region's service names it.
func (p *pricer) usageType(service, name string) (string, error) {
	code, ok := billingCodes[p.region]
	if !ok {
		return "", fmt.Errorf("no billing code known for region %s (ekscluster.billingCodes)", p.region)
	}
	// EC2's and Elastic Load Balancing's us-east-1 usage types carry no
	// region code ("BoxUsage:m5.large", "LoadBalancerUsage"); every other
	// service's and region's do ("USE1-AmazonEKS-Hours:perCluster",
	// "EU-LoadBalancerUsage").
	if (service == "AmazonEC2" || service == "AWSELB") && p.region == "us-east-1" {
		return name, nil
	}
	return code + "-" + name, nil
}

// newPricer reaches the Price List from the stack's region when it has an
// endpoint there, and otherwise through a provider in us-east-1 with the
// stack's credentials.
func newPricer(ctx *pulumi.Context, creds Credentials) (*pricer, error) {
	p := &pricer{ctx: ctx, region: creds.Region}
	if p.region == "" {
		// AWS_REGION or the profile's region, as the provider sees it.
		r, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return nil, err
		}
		p.region = r.Name
	}
	if slices.Contains(PriceListRegions, p.region) {
		return p, nil
	}
	args := &aws.ProviderArgs{Region: pulumi.String(PriceListRegions[0])}
	if creds.Profile != "" {
		args.Profile = pulumi.String(creds.Profile)
	}
	if creds.RoleARN != "" {
		args.AssumeRole = &aws.ProviderAssumeRoleArgs{RoleArn: pulumi.String(creds.RoleARN)}
	}
	prov, err := aws.NewProvider(ctx, "price-list", args)
	if err != nil {
		return nil, err
	}
	p.priceOpt = []pulumi.InvokeOption{pulumi.Provider(prov)}
	return p, nil
}

func dateOnly(rfc3339 string) string {
	if len(rfc3339) >= 10 {
		return rfc3339[:10]
	}
	return rfc3339
}
