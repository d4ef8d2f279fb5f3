package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestEstimatedHourlyCost prices the stack files at preview from the mocked
// AWS answers (awsprices_test.go). The wanted totals are worked out by hand
// from those prices:
//
//	dev:  control plane 0.10 + 1 t3.medium 0.0416 + 2 spot nodes at the
//	      dearest of c6i/c6a/c5.large in us-east-1a and 1b (c5.large in 1a,
//	      0.0382) + 1 NAT 0.045 + 3 x 20 GiB gp3 at 0.08/730 = 0.2696
//	prod: 0.10 + 1 m6i.large 0.096 + 4 c6i.xlarge 0.68 + 3 NAT 0.135 +
//	      5 x 30 GiB = 1.0274
//	existing VPC: dev without the NAT, spot over its private subnets'
//	      zones us-east-1a and 1b (c5.large in 1a, 0.0382):
//	      0.10 + 0.0416 + 0.0764 + 0.0066 = 0.2246
//	eu-central-1: dev with its t3.medium at 0.048 (spot, NAT and gp3 as
//	      mocked for us-east-1): 0.10 + 0.048 + 0.0764 + 0.045 + 0.0066 = 0.276
//	the web UI's NLB: dev + 0.0225 = 0.2921; in eu-west-1, 0.2736 + 0.0252
//	      = 0.2988
//	c6i.xlarge, spot in us-east-1b only: dev with 1 worker node at 0.0712
//	      and 2 volumes: 0.10 + 0.0416 + 0.0712 + 0.045 + 0.0044 = 0.2622
//	no spot price for c6i.4xlarge: dev without workers' nodes, whose one
//	      node is still a volume: 0.10 + 0.0416 + 0.045 + 0.0044 = 0.191
func TestEstimatedHourlyCost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stack string
		set   map[string]string
		want  float64
		items []string // name: detail fragments
		err   string
	}{
		{"dev", "dev", nil, 0.2696, []string{"EKS control plane: 1 cluster, standard support", "system nodes: 1 x t3.medium on-demand at $0.0416",
			"worker nodes: 2 x c5.large spot at $0.0382 (the dearest", "NAT gateways: 1 x $0.045", "node root volumes: 3 x 20 GiB gp3"}, ""},
		{"prod", "prod", nil, 1.0274, []string{"worker nodes: 4 x c6i.xlarge on-demand at $0.17", "system nodes: 1 x m6i.large on-demand at $0.096",
			"NAT gateways: 3 x $0.045", "node root volumes: 5 x 30 GiB"}, ""},
		// 1000m + 1000m > a t3.medium's 1780m for pods: a node per master,
		// and a root volume more: 0.10 + 2 x 0.0382 + 0.045 + 2 x 0.0416 + 4 x 20 x 0.08 / 730.
		{"two shards of a core each take a system node each", "dev", map[string]string{"shards": "2", "masterCpuRequest": "1"}, 0.3134,
			[]string{"system nodes: 2 x t3.medium on-demand at $0.0416", "node root volumes: 4 x 20 GiB", "worker nodes: 2 x c5.large spot"}, ""},
		{"extended support", "dev", map[string]string{"kubernetesVersion": "1.34"}, 0.7696, []string{"EKS control plane: 1 cluster, extended support"}, ""},
		{"another region, through a us-east-1 provider", "dev", map[string]string{"aws:region": "eu-west-1"}, 0.2736,
			[]string{"system nodes: 1 x t3.medium on-demand at $0.0456"}, ""},
		{"an existing VPC: no NAT of ours, spot priced in its private subnets' zones", "dev",
			map[string]string{"vpcId": "vpc-0a1b2c3d", "privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`}, 0.2246,
			[]string{"worker nodes: 2 x c5.large spot at $0.0382"}, ""},
		{"an existing VPC's unknown subnet leaves the workers unpriced", "dev",
			map[string]string{"vpcId": "vpc-0a1b2c3d", "privateSubnetIds": `["subnet-0a1b2c3d","subnet-9f9f9f9f"]`, "maxHourlyCost": "5"}, 0, nil,
			"worker nodes: privateSubnetIds: subnet subnet-9f9f9f9f: no matching EC2 Subnet found"},
		{"a region with its own Price List endpoint needs no provider of ours", "dev", map[string]string{"aws:region": "eu-central-1"}, 0.276,
			[]string{"system nodes: 1 x t3.medium on-demand at $0.048"}, ""},
		{"the web UI's network load balancer", "dev", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "webExposure": "loadBalancer"},
			0.2921, []string{"network load balancer: 1 x $0.0225, plus capacity units by traffic"}, ""},
		{"the price-list provider assumes the stack's role with all its settings", "dev", map[string]string{"aws:region": "eu-west-1",
			"aws:assumeRole": `{"roleArn":"arn:aws:iam::123456789012:role/deploy","externalId":"locust-ext-1","sessionName":"locust-preview"}`}, 0.2736, nil, ""},
		{"its price in another region", "dev", map[string]string{"aws:region": "eu-west-1", "webLogin": "true", "webPassword": "correct-horse-battery", "webExposure": "loadBalancer"},
			0.2988, []string{"network load balancer: 1 x $0.0252"}, ""},
		{"an Ingress adds no load balancer of ours", "dev", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "webExposure": "ingress",
			"webIngressClass": "alb", "webSourceRanges": `["10.0.0.0/16"]`, "webPlainHttp": "true"}, 0.2696, nil, ""},
		{"under the ceiling", "dev", map[string]string{"maxHourlyCost": "0.27"}, 0.2696, nil, ""},
		{"over the ceiling", "dev", map[string]string{"maxHourlyCost": "0.25"}, 0, nil,
			"maxHourlyCost: this stack would cost $0.2696 per hour, over the ceiling of $0.25: EKS control plane $0.10 (1 cluster, standard support), worker nodes $0.0764 (2 x c5.large spot at $0.0382 (the dearest the group may land on)), NAT gateways $0.045 (1 x $0.045), system nodes $0.0416 (1 x t3.medium on-demand at $0.0416), node root volumes $0.0066 (3 x 20 GiB gp3 at $0.08 per GB-month). Lower it with workers, workerCpuRequest, nodeInstanceTypes, nodeCapacityType (SPOT), natGatewayPerAz, availabilityZoneCount, vpcId (an existing VPC's NAT), systemNodeInstanceTypes, nodeDiskSize, or raise maxHourlyCost"},
		{"a type without a spot price in one zone is priced in the others", "dev", map[string]string{"nodeInstanceTypes": `["c6i.xlarge"]`}, 0.2622,
			[]string{"worker nodes: 1 x c6i.xlarge spot at $0.0712 (the dearest the group may land on); no spot price, so not launched there: c6i.xlarge in us-east-1a"}, ""},
		{"a type with no spot price is named, not counted", "dev", map[string]string{"nodeInstanceTypes": `["c6i.4xlarge"]`}, 0.191, []string{"node root volumes: 2 x 20 GiB"}, ""},
		{"a type with no price and a ceiling", "dev", map[string]string{"nodeInstanceTypes": `["c6i.4xlarge"]`, "maxHourlyCost": "5"}, 0, nil,
			"maxHourlyCost: cannot check the ceiling of $5.00 per hour, these have no price: worker nodes: c6i.4xlarge in us-east-1a: no matching EC2 Spot Price found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priceRequests = nil
			s := run(t, tc.stack, tc.set)
			// Guards the filters would not need today, against Capacity Block
			// and Outposts products sharing the other attributes.
			for _, r := range priceRequests {
				if r["locationType"] != "AWS Region" {
					t.Errorf("getProduct %v without locationType=AWS Region", r)
				}
				if r["instanceType"] != "" && r["marketoption"] != "OnDemand" {
					t.Errorf("getProduct %v of an instance without marketoption=OnDemand", r)
				}
			}
			if tc.err != "" {
				if s.err == nil || !strings.Contains(s.err.Error(), tc.err) {
					t.Fatalf("error %v\nwant one containing %q", s.err, tc.err)
				}
				if n := len(s.monitor.Resources()); n != 0 {
					t.Errorf("%d resources registered before the error; want none", n)
				}
				return
			}
			if s.err != nil {
				t.Fatal(s.err)
			}
			cost, _ := s.outputs["estimatedHourlyCost"].(map[string]any)
			if got, _ := cost["hourlyUsd"].(float64); fmt.Sprintf("%.4f", got) != fmt.Sprintf("%.4f", tc.want) {
				t.Errorf("hourlyUsd %v, want %.4f; %v", cost["hourlyUsd"], tc.want, cost)
			}
			var details []string
			for _, it := range cost["items"].([]any) {
				item := it.(map[string]any)
				details = append(details, fmt.Sprintf("%s: %s", item["name"], item["detail"]))
				if !strings.Contains(fmt.Sprint(item["source"]), "SKU") && !strings.Contains(fmt.Sprint(item["source"]), "spot price") {
					t.Errorf("item %v names no price source", item)
				}
			}
			for _, want := range tc.items {
				if !strings.Contains(strings.Join(details, "\n"), want) {
					t.Errorf("no item like %q in\n%s", want, strings.Join(details, "\n"))
				}
			}
			notPriced := fmt.Sprint(cost["notPriced"])
			if !strings.Contains(notPriced, "load balancers") || !strings.Contains(notPriced, "data transfer") ||
				!strings.Contains(notPriced, "an internet-facing network load balancer's, one per zone") || !strings.Contains(notPriced, "destroy leaves behind") {
				t.Errorf("notPriced %s does not name what is left out", notPriced)
			}
			if cost["priceDate"] != "2026-12-01" && cost["priceDate"] != "2026-11-20" {
				t.Errorf("priceDate %v", cost["priceDate"])
			}
			if p, ok := s.monitor.Get("pulumi:providers:aws", "price-list"); ok && tc.set["aws:region"] == "eu-central-1" {
				t.Errorf("a price-list provider in %v for a stack in eu-central-1, which has its own Price List endpoint", p.Inputs["region"])
			}
			if raw := tc.set["aws:assumeRole"]; raw != "" {
				p, _ := s.monitor.Get("pulumi:providers:aws", "price-list")
				role := p.Inputs["assumeRole"]
				if !role.IsObject() || role.ObjectValue()["externalId"].StringValue() != "locust-ext-1" ||
					role.ObjectValue()["sessionName"].StringValue() != "locust-preview" || role.ObjectValue()["roleArn"].StringValue() != "arn:aws:iam::123456789012:role/deploy" {
					t.Errorf("price-list provider assumeRole %v, want all of aws:assumeRole %s", role, raw)
				}
			}
			if tc.set["aws:region"] == "eu-west-1" {
				if p, ok := s.monitor.Get("pulumi:providers:aws", "price-list"); !ok || p.Inputs["region"].StringValue() != "us-east-1" {
					t.Errorf("no price-list provider in us-east-1 for a stack in eu-west-1: %v", p)
				}
			}
		})
	}
}
