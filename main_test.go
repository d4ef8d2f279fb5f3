package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/components/ekscluster"
	"github.com/locust-eks/locust-on-eks/components/resultsbucket"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/locust-eks/locust-on-eks/stackconfig"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// mockKubeconfig is what the mocked EKS cluster returns as kubeconfigJson.
const mockKubeconfig = `{"apiVersion":"v1","kind":"Config","clusters":[{"name":"mock"}]}`

// caller is who sts:GetCallerIdentity says runs the mocked program; tests
// that change it restore it.
var caller = "arn:aws:sts::123456789012:assumed-role/deploy/session-1"

// stack is one mocked run of the program.
type stack struct {
	monitor *pulumimock.Monitor
	outputs map[string]any
	secrets map[string]bool
	err     error
}

// run runs the program for a stack file with some keys overridden, the way
// `pulumi preview` would: Pulumi.yaml defaults, then Pulumi.<name>.yaml.
func run(t *testing.T, name string, set map[string]string) stack {
	t.Helper()
	config, err := stackconfig.ReadStack(".", name)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(config, set)
	s := stack{monitor: &pulumimock.Monitor{}, outputs: map[string]any{}, secrets: map[string]bool{}}

	aws := account
	if aws == nil {
		aws = newAWSAccount()
	}
	var ctx *pulumi.Context
	// pulumi-eks's Cluster is a remote component: the program sees only its
	// outputs. Answer with a kubeconfig and a reference to an aws.eks.Cluster,
	// registered here as the real component would.
	s.monitor.NewResourceHook = func(args pulumi.MockResourceArgs) (string, resource.PropertyMap, bool, error) {
		switch args.TypeToken {
		case "aws:eks/cluster:Cluster":
			return args.Name + "_id", aws.describedCluster(args), true, nil
		case "aws:s3/bucketV2:BucketV2":
			state := autonamedBucket(args)
			return state["bucket"].StringValue(), state, true, nil
		case "aws:ec2/eip:Eip":
			state := allocatedAddress(t, args)
			return state["allocationId"].StringValue(), state, true, nil
		case "pulumi:pulumi:StackReference":
			return args.Inputs["name"].StringValue(), stackReference(args, lastOutputs), true, nil
		}
		if args.TypeToken != "eks:index:Cluster" {
			return "", nil, false, nil
		}
		clusterName := args.Name + "-eksCluster-1a2b3c"
		if v, ok := args.Inputs["name"]; ok && v.IsString() {
			clusterName = v.StringValue()
		}
		aws.createCluster(clusterName, caller, explicitEntries(args.Inputs))
		inner, err := awseks.NewCluster(ctx, args.Name+"-eksCluster", &awseks.ClusterArgs{
			Name:      pulumi.String(clusterName),
			RoleArn:   pulumi.String("arn:aws:iam::123456789012:role/eks"),
			VpcConfig: &awseks.ClusterVpcConfigArgs{},
		})
		if err != nil {
			return "", nil, false, err
		}
		state := args.Inputs.Copy()
		state["kubeconfigJson"] = resource.NewProperty(mockKubeconfig)
		state["eksCluster"] = reference(t, ctx.Context(), inner)
		return "", state, true, nil
	}
	s.monitor.CallHook = func(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
		if action, ok := denied[args.Token]; ok {
			return nil, accessDenied(args.Token, action)
		}
		switch args.Token {
		case "aws:eks/getClusterVersions:getClusterVersions":
			return getClusterVersions(t, args.Args, now()), nil
		case "aws:servicequotas/getServiceQuota:getServiceQuota":
			return getServiceQuota(args.Args, config["aws:region"])
		case "aws:index/getAvailabilityZones:getAvailabilityZones":
			return getAvailabilityZones(t, regionZones, args.Args), nil
		case "aws:index/getCallerIdentity:getCallerIdentity":
			return getCallerIdentity(caller), nil
		case "aws:eks/getAccessEntry:getAccessEntry":
			return aws.getAccessEntry(args.Args)
		case "aws:iam/getSessionContext:getSessionContext":
			return aws.getSessionContext(args.Args)
		case "aws:ec2/getInstanceType:getInstanceType":
			return getInstanceType(args.Args)
		case "aws:pricing/getProduct:getProduct":
			return getProduct(args.Args, providerRegion(s.monitor, args.Provider, config["aws:region"]))
		case "aws:ec2/getSpotPrice:getSpotPrice":
			return getSpotPrice(args.Args)
		case "aws:ec2/getSubnet:getSubnet":
			return getSubnet(args.Args)
		}
		t.Errorf("unexpected call %s", args.Token)
		return resource.PropertyMap{}, nil
	}

	s.err = pulumimock.Run(stackconfig.Project, name, config, []string{"secretEnv", "webPassword"}, s.monitor, func(c *pulumi.Context) error {
		ctx = c
		outputs, err := deployStack(c, "locustfiles", "")
		if err != nil {
			return err
		}
		for key, out := range outputs {
			if s.outputs[key], s.secrets[key], err = pulumimock.AwaitSecret(c.Context(), pulumi.ToOutput(out)); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

func reference(t *testing.T, ctx context.Context, r pulumi.CustomResource) resource.PropertyValue {
	urn, err := pulumimock.Await(ctx, r.URN())
	if err != nil {
		t.Fatal(err)
	}
	id, err := pulumimock.Await(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	return resource.MakeCustomResourceReference(resource.URN(urn.(pulumi.URN)), resource.ID(id.(pulumi.ID)), "")
}

func mustRun(t *testing.T, name string, set map[string]string) stack {
	t.Helper()
	s := run(t, name, set)
	if s.err != nil {
		t.Fatalf("stack %s: %v", name, s.err)
	}
	return s
}

func (s stack) count(typ string) int { return len(s.monitor.OfType(typ)) }

func (s stack) get(t *testing.T, typ, name string) pulumimock.Resource {
	t.Helper()
	r, ok := s.monitor.Get(typ, name)
	if !ok {
		t.Fatalf("no %s named %s", typ, name)
	}
	return r
}

func TestEKSStack(t *testing.T) {
	s := mustRun(t, "dev", nil)

	want := map[string]int{
		ekscluster.ClusterType:                                1,
		"eks:index:Cluster":                                   1,
		"eks:index:ManagedNodeGroup":                          2,
		"aws:ec2/vpc:Vpc":                                     1,
		"aws:ec2/internetGateway:InternetGateway":             1,
		"aws:ec2/subnet:Subnet":                               4,
		"aws:ec2/eip:Eip":                                     1,
		"aws:ec2/natGateway:NatGateway":                       1,
		"aws:ec2/routeTable:RouteTable":                       3,
		"aws:ec2/routeTableAssociation:RouteTableAssociation": 4,
		"aws:iam/role:Role":                                   1,
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment":   3,
		"pulumi:providers:kubernetes":                         1,
		components.LocustClusterType:                          1,
		"kubernetes:core/v1:Namespace":                        1,
		"kubernetes:core/v1:ConfigMap":                        1,
		"kubernetes:core/v1:Service":                          1,
		"kubernetes:apps/v1:Deployment":                       2,
		"kubernetes:policy/v1:PodDisruptionBudget":            2,
		"kubernetes:networking.k8s.io/v1:NetworkPolicy":       2,
		"aws:ec2/launchTemplate:LaunchTemplate":               1,
	}
	for typ, n := range want {
		if got := s.count(typ); got != n {
			t.Errorf("%d of %s, want %d", got, typ, n)
		}
	}

	// Every AWS resource belongs to a component: the cluster's, or the
	// results bucket's.
	for _, r := range s.monitor.Resources() {
		if (strings.HasPrefix(r.Type, "aws:") || strings.HasPrefix(r.Type, "eks:")) && r.Name != "locust-eksCluster" &&
			r.ParentType() != ekscluster.ClusterType && r.ParentType() != resultsbucket.BucketType {
			t.Errorf("%s %s has parent %q, want the EksCluster or ResultsBucket component", r.Type, r.Name, r.ParentType())
		}
	}

	// The cluster as issue #2 asks for it.
	cluster := s.get(t, "eks:index:Cluster", "locust").Object()
	checks := map[string]any{
		"authenticationMode":     "API",
		"skipDefaultNodeGroup":   true,
		"version":                "1.35",
		"endpointPrivateAccess":  true,
		"endpointPublicAccess":   true,
		"enabledClusterLogTypes": []any{"api", "audit"},
		"publicAccessCidrs":      []any{"0.0.0.0/0"},
	}
	for key, want := range checks {
		if got, _ := json.Marshal(cluster[key]); string(got) != mustJSON(want) {
			t.Errorf("eks Cluster %s = %s, want %s", key, got, mustJSON(want))
		}
	}

	if _, ok := cluster["accessEntries"]; ok {
		t.Errorf("access entries %v without clusterAdminArns", cluster["accessEntries"])
	}
	admins := mustRun(t, "dev", map[string]string{"clusterAdminArns": `["arn:aws:iam::123456789012:role/ci-preview"]`})
	entries := admins.get(t, "eks:index:Cluster", "locust").Object()["accessEntries"]
	if got := mustJSON(entries); got != `{"admin-23746ff348d2":{"accessPolicies":{"cluster-admin":{"accessScope":{"type":"cluster"},"policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}},"principalArn":"arn:aws:iam::123456789012:role/ci-preview"}}` {
		t.Errorf("access entries = %s", got)
	}

	// Nodes go in the private subnets; those route out through NAT.
	var private, public []string
	for _, r := range s.monitor.OfType("aws:ec2/subnet:Subnet") {
		tags := r.Object()["tags"].(map[string]any)
		switch {
		case strings.HasPrefix(r.Name, "private-"):
			private = append(private, r.Name+"_id")
			if tags["kubernetes.io/role/internal-elb"] != "1" {
				t.Errorf("private subnet %s tags %v", r.Name, tags)
			}
		case strings.HasPrefix(r.Name, "public-"):
			public = append(public, r.Name+"_id")
			if tags["kubernetes.io/role/elb"] != "1" {
				t.Errorf("public subnet %s tags %v", r.Name, tags)
			}
		}
	}
	if len(private) != 2 || len(public) != 2 {
		t.Fatalf("subnets: private %v public %v", private, public)
	}
	// Registration order is concurrent; the cluster lists subnets by zone.
	slices.Sort(private)
	if got := toStrings(cluster["privateSubnetIds"]); !slices.Equal(got, private) {
		t.Errorf("cluster privateSubnetIds = %v, want %v", got, private)
	}
	for _, r := range s.monitor.OfType("aws:ec2/routeTable:RouteTable") {
		route := r.Object()["routes"].([]any)[0].(map[string]any)
		if strings.HasPrefix(r.Name, "private-") && route["natGatewayId"] == nil {
			t.Errorf("private route table %s does not route through NAT: %v", r.Name, route)
		}
		if strings.HasSuffix(r.Name, "-public") && route["gatewayId"] == nil {
			t.Errorf("public route table %s does not route to the internet gateway: %v", r.Name, route)
		}
	}

	ng := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers").Object()
	if ng["capacityType"] != "SPOT" || ng["operatingSystem"] != "AL2023" || ng["launchTemplate"] == nil {
		t.Errorf("node group capacity %v os %v launch template %v", ng["capacityType"], ng["operatingSystem"], ng["launchTemplate"])
	}
	if got := toStrings(ng["instanceTypes"]); !slices.Equal(got, []string{"c6i.large", "c6a.large", "c5.large"}) {
		t.Errorf("instance types %v", got)
	}
	if sc := ng["scalingConfig"].(map[string]any); sc["minSize"] != 1.0 || sc["desiredSize"] != 2.0 || sc["maxSize"] != 3.0 {
		t.Errorf("scaling %v", sc)
	}
	if got := toStrings(ng["subnetIds"]); !slices.Equal(got, private) {
		t.Errorf("node group subnets %v, want the private ones %v", got, private)
	}
	labels := ng["labels"].(map[string]any)
	if labels[ekscluster.NodePoolLabel] != "workers" {
		t.Errorf("node group labels %v", labels)
	}

	// The Kubernetes provider is built from the cluster's kubeconfig, and
	// every Kubernetes object is created through it.
	kubeconfig := s.get(t, "pulumi:providers:kubernetes", "locust").Inputs["kubeconfig"]
	if !kubeconfig.IsSecret() || !strings.Contains(kubeconfig.SecretValue().Element.StringValue(), `"server":"https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"`) {
		t.Errorf("provider kubeconfig = %v, want a kubeconfig of the cluster's endpoint, as a secret", kubeconfig)
	}
	assertKubernetesProvider(t, s, "locust")

	if s.outputs["clusterName"] != "locust-eksCluster-1a2b3c" {
		t.Errorf("clusterName output = %v", s.outputs["clusterName"])
	}
	if out, _ := s.outputs["kubeconfig"].(string); !strings.Contains(out, `"--cluster-name","locust-eksCluster-1a2b3c"`) || !s.secrets["kubeconfig"] {
		t.Errorf("kubeconfig output = %v (secret %v); want the kubeconfig, as a secret", s.outputs["kubeconfig"], s.secrets["kubeconfig"])
	}
	if s.outputs["namespace"] != "locust" || s.outputs["workers"] != 2 ||
		s.outputs["portForwardCommand"] != "kubectl port-forward --namespace locust service/loadtest-master 8089:8089" {
		t.Errorf("outputs = %v", s.outputs)
	}
}

func TestProdStackSpansThreeZonesWithNATEach(t *testing.T) {
	s := mustRun(t, "prod", nil)
	if s.count("aws:ec2/subnet:Subnet") != 6 || s.count("aws:ec2/natGateway:NatGateway") != 3 || s.count("aws:ec2/eip:Eip") != 3 {
		t.Errorf("subnets %d, NAT gateways %d, EIPs %d; want 6, 3, 3",
			s.count("aws:ec2/subnet:Subnet"), s.count("aws:ec2/natGateway:NatGateway"), s.count("aws:ec2/eip:Eip"))
	}
	usedZones := map[string]bool{}
	for _, r := range s.monitor.OfType("aws:ec2/subnet:Subnet") {
		usedZones[r.Object()["availabilityZone"].(string)] = true
	}
	// us-east-1c is use1-az3 in this account, where EKS refuses cluster
	// subnets: skipped.
	if !maps.Equal(usedZones, map[string]bool{"us-east-1a": true, "us-east-1b": true, "us-east-1d": true}) {
		t.Errorf("zones %v, want us-east-1a, b and d (c is use1-az3)", usedZones)
	}
	if name := s.get(t, "eks:index:Cluster", "locust").Object()["name"]; name != "locust-prod" {
		t.Errorf("cluster name = %v, want locust-prod from clusterName", name)
	}
	if s.outputs["clusterName"] != "locust-prod" {
		t.Errorf("clusterName output = %v", s.outputs["clusterName"])
	}
}

// TestZonesHoldThroughAZoneEvent: a zone of the stack that EC2 reports as
// impaired (or any state but available) during a zone event keeps its
// subnets where they are; filtering it out would shift every subnet into
// another zone, which replaces them (aws_subnet's availability_zone forces
// a new resource). The same holds for prod's three zones.
func TestZonesHoldThroughAZoneEvent(t *testing.T) {
	for _, tc := range []struct {
		stack string
		want  []string
	}{
		{"dev", []string{"us-east-1a", "us-east-1b"}},
		{"prod", []string{"us-east-1a", "us-east-1b", "us-east-1d"}},
	} {
		for _, state := range []string{"available", "impaired", "unavailable", "constrained"} {
			t.Run(tc.stack+" with us-east-1a "+state, func(t *testing.T) {
				zones := slices.Clone(usEast1)
				zones[0].state = state
				withZones(t, zones)
				s := mustRun(t, tc.stack, nil)
				var got []string
				for _, r := range s.monitor.OfType("aws:ec2/subnet:Subnet") {
					if z := r.Object()["availabilityZone"].(string); !slices.Contains(got, z) {
						got = append(got, z)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.want) {
					t.Errorf("subnets in zones %v; want %v, as with every zone available", got, tc.want)
				}
				// And a subnet created in another zone stays there: a
				// change of availability_zone would replace it (Terraform
				// aws_subnet, ForceNew).
				for _, r := range s.monitor.OfType("aws:ec2/subnet:Subnet") {
					if !slices.Contains(r.IgnoreChanges, "availabilityZone") {
						t.Errorf("subnet %s: ignoreChanges %v; want availabilityZone", r.Name, r.IgnoreChanges)
					}
				}
			})
		}
	}
}

// allocatedAddress is an Elastic IP as EC2 AllocateAddress answers it: a
// public address from Amazon's pool and an allocation ID, which
// terraform-provider-aws's aws_eip keeps as public_ip and as the resource's
// id (internal/service/ec2/vpc_eip.go, resourceEIPCreate). The address is
// in TEST-NET-3, which AWS never hands out: 203.0.113.(10+n) for the zone
// index n that ends the name (the program registers resources
// concurrently, so the order of the calls says nothing).
func allocatedAddress(t *testing.T, args pulumi.MockResourceArgs) resource.PropertyMap {
	n, err := strconv.Atoi(args.Name[strings.LastIndex(args.Name, "-")+1:])
	if err != nil {
		t.Errorf("Elastic IP %q: the mock numbers addresses by the zone index ending the name: %v", args.Name, err)
	}
	state := args.Inputs.Copy()
	state["publicIp"] = resource.NewStringProperty(fmt.Sprintf("203.0.113.%d", 10+n))
	state["allocationId"] = resource.NewStringProperty(fmt.Sprintf("eipalloc-0a1b2c3d4e5f6%04d", n))
	state["domain"] = resource.NewStringProperty("vpc")
	return state
}

// TestEgressIPs: a stack that creates its VPC exports the NAT gateways'
// public addresses, one per gateway, for a target's allow-list; in an
// existing VPC, whose routes it does not know, it exports none.
func TestEgressIPs(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want []string
	}{
		{"one NAT gateway", nil, []string{"203.0.113.10"}},
		{"a NAT gateway per zone", map[string]string{"natGatewayPerAz": "true", "availabilityZoneCount": "3"}, []string{"203.0.113.10", "203.0.113.11", "203.0.113.12"}},
		{"an existing VPC", map[string]string{"vpcId": "vpc-0a1b2c3d4e5f67890", "privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`,
			"publicSubnetIds": `["subnet-2a1b2c3d"]`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustRun(t, "dev", tc.set)
			got, exported := s.outputs["egressIps"]
			if tc.want == nil {
				if exported {
					t.Errorf("egressIps %v exported in an existing VPC", got)
				}
				return
			}
			var eips []string
			for _, r := range s.monitor.OfType("aws:ec2/eip:Eip") {
				eips = append(eips, r.State["publicIp"].StringValue())
			}
			slices.Sort(eips)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || !slices.Equal(eips, tc.want) {
				t.Errorf("egressIps %v, Elastic IPs %v; want %v", got, eips, tc.want)
			}
		})
	}
}

func TestExistingVPC(t *testing.T) {
	s := mustRun(t, "dev", map[string]string{
		"vpcId":            "vpc-0a1b2c3d4e5f67890",
		"privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`,
		"publicSubnetIds":  `["subnet-2a1b2c3d"]`,
	})
	for _, r := range s.monitor.Resources() {
		if strings.HasPrefix(r.Type, "aws:ec2/") && r.Type != "aws:ec2/launchTemplate:LaunchTemplate" {
			t.Errorf("created %s %s in an existing VPC", r.Type, r.Name)
		}
	}
	c := s.get(t, "eks:index:Cluster", "locust").Object()
	if c["vpcId"] != "vpc-0a1b2c3d4e5f67890" || !slices.Equal(toStrings(c["privateSubnetIds"]), []string{"subnet-0a1b2c3d", "subnet-1a1b2c3d"}) ||
		!slices.Equal(toStrings(c["publicSubnetIds"]), []string{"subnet-2a1b2c3d"}) {
		t.Errorf("cluster network = %v %v %v", c["vpcId"], c["privateSubnetIds"], c["publicSubnetIds"])
	}
	ng := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers").Object()
	if !slices.Equal(toStrings(ng["subnetIds"]), []string{"subnet-0a1b2c3d", "subnet-1a1b2c3d"}) {
		t.Errorf("node group subnets %v", ng["subnetIds"])
	}
}

func TestExistingClusterMode(t *testing.T) {
	s := mustRun(t, "local", map[string]string{"kubeContext": "kind-locust", "nodeSelector": `["pool=load"]`})
	for _, r := range s.monitor.Resources() {
		if strings.HasPrefix(r.Type, "aws:") || strings.HasPrefix(r.Type, "eks:") || r.Type == ekscluster.ClusterType {
			t.Errorf("existing-cluster mode created %s %s", r.Type, r.Name)
		}
	}
	p := s.get(t, "pulumi:providers:kubernetes", "existing-cluster").Object()
	home, _ := os.UserHomeDir()
	if p["kubeconfig"] != filepath.Join(home, ".kube/config") || p["context"] != "kind-locust" {
		t.Errorf("provider kubeconfig %v context %v", p["kubeconfig"], p["context"])
	}
	assertKubernetesProvider(t, s, "existing-cluster")
	for _, d := range s.monitor.OfType("kubernetes:apps/v1:Deployment") {
		sel := d.Object()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["nodeSelector"]
		if !maps.Equal(sel.(map[string]any), map[string]any{"pool": "load"}) {
			t.Errorf("%s node selector %v", d.Name, sel)
		}
	}
	// The component is the same in both modes.
	eks := mustRun(t, "dev", map[string]string{"workers": "2", "locustfiles": `["bookinfo.py"]`, "targetHost": "http://productpage.bookinfo.svc:9080"})
	localMaster := s.get(t, "kubernetes:apps/v1:Deployment", "loadtest-master").Object()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"]
	eksMaster := eks.get(t, "kubernetes:apps/v1:Deployment", "loadtest-master").Object()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"]
	lc, ec := localMaster.([]any)[0].(map[string]any), eksMaster.([]any)[0].(map[string]any)
	for _, key := range []string{"args", "env", "image", "command", "volumeMounts", "ports", "securityContext"} {
		if mustJSON(lc[key]) != mustJSON(ec[key]) {
			t.Errorf("master %s differs between modes: %s vs %s", key, mustJSON(lc[key]), mustJSON(ec[key]))
		}
	}
	if s.outputs["kubeContext"] != "kind-locust" || s.outputs["namespace"] != "locust" {
		t.Errorf("outputs %v", s.outputs)
	}
	if _, ok := s.outputs["kubeconfig"]; ok {
		t.Errorf("existing-cluster mode exports a kubeconfig it does not own")
	}
}

// assertKubernetesProvider checks that every Kubernetes object uses the
// explicit provider of that name, never the ambient default one.
func assertKubernetesProvider(t *testing.T, s stack, name string) {
	t.Helper()
	n := 0
	for _, r := range s.monitor.Resources() {
		if !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		n++
		if r.ProviderType() != "pulumi:providers:kubernetes" || r.ProviderName() != name {
			t.Errorf("%s %s uses provider %q, want the %q provider", r.Type, r.Name, r.Provider, name)
		}
	}
	if n == 0 {
		t.Error("no Kubernetes objects registered")
	}
}

// TestWebLoginOutputs: with the login on, the master runs --web-login, the
// password is a secret output and in a secret Secret, never in a spec.
func TestWebLoginOutputs(t *testing.T) {
	const password = "team-password-2026"
	s := mustRun(t, "dev", map[string]string{"webLogin": "true", "webUsername": "team", "webPassword": password})
	if s.outputs["webUsername"] != "team" || s.secrets["webUsername"] || s.outputs["webPassword"] != password || !s.secrets["webPassword"] {
		t.Errorf("outputs webUsername %v (secret %v), webPassword secret %v; want the name plain, the password secret",
			s.outputs["webUsername"], s.secrets["webUsername"], s.secrets["webPassword"])
	}
	if data := s.get(t, "kubernetes:core/v1:Secret", "loadtest-web-login").Inputs["stringData"]; !data.IsSecret() {
		t.Error("the web login Secret's data is not a Pulumi secret")
	}
	for _, d := range s.monitor.OfType("kubernetes:apps/v1:Deployment") {
		if strings.Contains(mustJSON(d.Object()), password) {
			t.Errorf("%s holds the password in its spec", d.Name)
		}
	}
	if plain := mustRun(t, "dev", nil); plain.outputs["webUsername"] != nil || plain.outputs["webPassword"] != nil {
		t.Errorf("without the login the stack exports %v, %v", plain.outputs["webUsername"], plain.outputs["webPassword"])
	}
}

func TestSecretEnvStaysSecret(t *testing.T) {
	s := mustRun(t, "dev", map[string]string{"secretEnv": `{"API_TOKEN":"s3cr3t"}`})
	secret := s.get(t, "kubernetes:core/v1:Secret", "loadtest-env")
	data := secret.Inputs["stringData"]
	if !data.IsSecret() || data.SecretValue().Element.ObjectValue()["API_TOKEN"].StringValue() != "s3cr3t" {
		t.Errorf("Secret stringData = %v, want API_TOKEN as a Pulumi secret", data)
	}
	assertKubernetesProvider(t, s, "locust")
	for _, d := range s.monitor.OfType("kubernetes:apps/v1:Deployment") {
		if strings.Contains(mustJSON(d.Object()), "s3cr3t") {
			t.Errorf("%s holds the secret value in its spec", d.Name)
		}
	}
}

func TestInvalidConfigRegistersNothing(t *testing.T) {
	tests := []struct {
		stack string
		set   map[string]string
		want  string
	}{
		{"dev", map[string]string{"workers": "0"}, `workers: got "0"`},
		{"dev", map[string]string{"nodeMinSize": "4", "nodeMaxSize": "3", "nodeDesiredSize": "3"}, "nodeMinSize: got 4; must not exceed nodeMaxSize (3)"},
		{"dev", map[string]string{"nodeCapacityType": "RESERVED"}, `nodeCapacityType: got "RESERVED"`},
		{"dev", map[string]string{"locustfiles": `["shop.py"]`}, `locustfiles: got "shop.py"`},
		{"dev", map[string]string{"publicAccessCidrs": `["1.2.3.4/40"]`}, `publicAccessCidrs: got "1.2.3.4/40"`},
		{"dev", map[string]string{"targetHost": ""}, `targetHost: got ""`},
		{"dev", map[string]string{"image": "locustio/locust"}, `image: got "locustio/locust"`},
		{"local", map[string]string{"workers": "-1"}, `workers: got "-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			s := run(t, tt.stack, tt.set)
			if s.err == nil || !strings.Contains(s.err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", s.err, tt.want)
			}
			if n := len(s.monitor.Resources()); n != 0 {
				t.Errorf("%d resources registered before the config error", n)
			}
		})
	}
}

func TestSubnetCIDRs(t *testing.T) {
	tests := []struct {
		vpc             string
		zone            int
		private, public string
	}{
		{"10.0.0.0/16", 0, "10.0.0.0/19", "10.0.224.0/22"},
		{"10.0.0.0/16", 1, "10.0.32.0/19", "10.0.228.0/22"},
		{"10.0.0.0/16", 5, "10.0.160.0/19", "10.0.244.0/22"},
		{"172.20.0.0/20", 2, "172.20.4.0/23", "172.20.14.128/26"},
	}
	for _, tt := range tests {
		priv, pub, err := ekscluster.SubnetCIDRs(netip.MustParsePrefix(tt.vpc), tt.zone)
		if err != nil || priv.String() != tt.private || pub.String() != tt.public {
			t.Errorf("SubnetCIDRs(%s, %d) = %s, %s, %v; want %s, %s", tt.vpc, tt.zone, priv, pub, err, tt.private, tt.public)
		}
	}
	// No two subnets of a VPC overlap, across all six zones.
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	var all []netip.Prefix
	for zone := range 6 {
		priv, pub, err := ekscluster.SubnetCIDRs(vpc, zone)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, priv, pub)
	}
	for i, a := range all {
		if !vpc.Contains(a.Addr()) {
			t.Errorf("%s outside %s", a, vpc)
		}
		for _, b := range all[i+1:] {
			if a.Overlaps(b) {
				t.Errorf("%s overlaps %s", a, b)
			}
		}
	}
	if _, _, err := ekscluster.SubnetCIDRs(vpc, 7); err == nil {
		t.Error("zone 7 accepted")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
