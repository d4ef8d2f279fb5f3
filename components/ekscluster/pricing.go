package ekscluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/pricing"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// PriceListRegions are the regions whose endpoint answers the AWS Price List
// Query API: api.pricing.{us-east-1,eu-central-1,ap-south-1}.amazonaws.com
// (AWS Billing user guide, "Calling AWS services and prices using the AWS
// Price List", Endpoints,
// https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-changes.html;
// pulumi-aws's getProduct documentation names only the first and last).
// Each endpoint's prices cover every region. A stack elsewhere reaches the
// first through a provider of its own.
var PriceListRegions = []string{"us-east-1", "eu-central-1", "ap-south-1"}

// billingCodes are the region prefixes of AWS usage types, for every
// commercial region: "AWS Region billing codes",
// https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html.
// EKS prefixes its usage types in every region
// (USE1-AmazonEKS-Hours:perCluster); EC2 and Elastic Load Balancing in all
// but us-east-1 (NatGateway-Hours there, EUC1-NatGateway-Hours in
// Frankfurt). The China, GovCloud and ISO partitions are left out on
// purpose: the Price List endpoints above are in the commercial partition,
// which their credentials cannot call.
var billingCodes = map[string]string{
	// North America
	"us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
	"ca-central-1": "CAN1", "ca-west-1": "CAN2", "mx-central-1": "MXC1",
	// Africa
	"af-south-1": "AFS1",
	// Asia Pacific
	"ap-east-1": "APE1", "ap-east-2": "APE2",
	"ap-northeast-1": "APN1", "ap-northeast-2": "APN2", "ap-northeast-3": "APN3",
	"ap-southeast-1": "APS1", "ap-southeast-2": "APS2", "ap-south-1": "APS3", "ap-southeast-3": "APS4",
	"ap-south-2": "APS5", "ap-southeast-4": "APS6", "ap-southeast-5": "APS7", "ap-southeast-6": "APS8",
	"ap-southeast-7": "APS9",
	// Europe
	"eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1", "eu-central-2": "EUC2",
	"eu-north-1": "EUN1", "eu-south-1": "EUS1", "eu-south-2": "EUS2",
	// Middle East and Israel
	"me-south-1": "MES1", "me-central-1": "MEC1", "il-central-1": "ILC1",
	// South America
	"sa-east-1": "SAE1",
}

// hoursPerMonth turns monthly prices (EBS per GB-month) into hours: 730,
// the average month (365 x 24 / 12). AWS prorates a GB-month by the seconds
// of the actual month (the example on https://aws.amazon.com/ebs/pricing/
// uses a 30-day month, 720 hours), so an hour of a volume costs up to 2%
// more or less than this figure, a hundredth of a cent on the stacks here.
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

// regionLocation is the Price List's locationType of a region's own
// products, as opposed to "AWS Outposts" and the Local and Wavelength
// Zones' types: a guard, every filter carries it.
const regionLocation = "AWS Region"

// instance is the on-demand price of a Linux instance of typ, shared
// tenancy, no pre-installed software: the filters of pulumi-aws's
// getProduct example and terraform-provider-aws's own test, by region code;
// marketoption OnDemand keeps out a Capacity Block product of the same type
// (Karpenter filters it too, aws/karpenter-provider-aws
// pkg/providers/pricing/pricing.go).
func (p *pricer) instance(typ string) (price, error) {
	return p.onDemand("AmazonEC2", map[string]string{
		"instanceType": typ, "regionCode": p.region, "locationType": regionLocation, "operatingSystem": "Linux", "tenancy": "Shared",
		"capacitystatus": "Used", "preInstalledSw": "NA", "licenseModel": "No License required", "marketoption": "OnDemand",
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
		return "", fmt.Errorf("aws:region %q has no AWS Region billing code known here, so its usage types cannot be priced; the estimate reads the commercial partition's Price List and prices the regions %s",
			p.region, strings.Join(slices.Sorted(maps.Keys(billingCodes)), ", "))
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
	role, err := stackAssumeRole(ctx, creds.RoleARN)
	if err != nil {
		return nil, err
	}
	args.AssumeRole = role
	prov, err := aws.NewProvider(ctx, "price-list", args)
	if err != nil {
		return nil, err
	}
	p.priceOpt = []pulumi.InvokeOption{pulumi.Provider(prov)}
	return p, nil
}

// assumeRole is the stack's aws:assumeRole object, every field the AWS
// provider takes (pulumi-aws sdk/v6 go/aws/pulumiTypes.go,
// ProviderAssumeRoleArgs).
type assumeRole struct {
	RoleARN           string            `json:"roleArn"`
	Duration          string            `json:"duration"`
	ExternalID        string            `json:"externalId"`
	Policy            string            `json:"policy"`
	PolicyARNs        []string          `json:"policyArns"`
	SessionName       string            `json:"sessionName"`
	SourceIdentity    string            `json:"sourceIdentity"`
	Tags              map[string]string `json:"tags"`
	TransitiveTagKeys []string          `json:"transitiveTagKeys"`
}

// stackAssumeRole is how the price-list provider assumes the stack's role:
// the whole aws:assumeRole object, as the stack's default provider reads it,
// so that a trust policy needing an external ID or a session name is met
// for prices too. Without aws:assumeRole it is roleARN alone (none when
// empty).
func stackAssumeRole(ctx *pulumi.Context, roleARN string) (*aws.ProviderAssumeRoleArgs, error) {
	var r assumeRole
	if raw := config.Get(ctx, "aws:assumeRole"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("aws:assumeRole: %q is not an object of the AWS provider's assumeRole settings: %w", raw, err)
		}
	}
	if r.RoleARN == "" {
		r.RoleARN = roleARN
	}
	if r.RoleARN == "" {
		return nil, nil
	}
	str := func(v string) pulumi.StringPtrInput {
		if v == "" {
			return nil
		}
		return pulumi.String(v)
	}
	args := &aws.ProviderAssumeRoleArgs{
		RoleArn: pulumi.String(r.RoleARN), Duration: str(r.Duration), ExternalId: str(r.ExternalID), Policy: str(r.Policy),
		SessionName: str(r.SessionName), SourceIdentity: str(r.SourceIdentity),
	}
	if len(r.PolicyARNs) > 0 {
		args.PolicyArns = pulumi.ToStringArray(r.PolicyARNs)
	}
	if len(r.Tags) > 0 {
		args.Tags = pulumi.ToStringMap(r.Tags)
	}
	if len(r.TransitiveTagKeys) > 0 {
		args.TransitiveTagKeys = pulumi.ToStringArray(r.TransitiveTagKeys)
	}
	return args, nil
}

func dateOnly(rfc3339 string) string {
	if len(rfc3339) >= 10 {
		return rfc3339[:10]
	}
	return rfc3339
}
