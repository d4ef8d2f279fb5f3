// Package ekscluster provisions the AWS side of a load test: an EKS cluster,
// the VPC it runs in (or an existing one), a managed node group for the
// Locust pods, and a Kubernetes provider for that cluster.
package ekscluster

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterType is the Pulumi type token of the Cluster component.
const ClusterType = "locust-eks:aws:EksCluster"

// NodePoolLabel is the node label the node group carries and the Locust pods
// select on, so that they never land on nodes added for anything else.
const NodePoolLabel = "locust-eks/node-pool"

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// Name of the EKS cluster; empty lets Pulumi name it after the resource.
	Name string
	// KubernetesVersion is the control plane's minor version, like "1.34".
	KubernetesVersion string
	// LogTypes are the control-plane log types sent to CloudWatch.
	LogTypes []string
	// PublicAccessCIDRs may reach the public API endpoint. The private
	// endpoint is always on, so nodes never leave the VPC to reach it.
	PublicAccessCIDRs []string
	// AdminARNs are IAM roles or users given cluster-admin on the cluster
	// through access entries, beside the identity that creates it: the CI
	// preview role, the people who run tests.
	AdminARNs []string
	Network   NetworkArgs
	NodeGroup NodeGroupArgs
	// Tags go on every AWS resource that takes tags.
	Tags map[string]string
}

// NetworkArgs names an existing VPC (VpcID set) or sizes the one to create.
type NetworkArgs struct {
	VpcID            string
	PublicSubnetIDs  []string
	PrivateSubnetIDs []string

	// CIDR of the VPC to create; it is cut into one private and one public
	// subnet per availability zone.
	CIDR              netip.Prefix
	AvailabilityZones int
	// NATGatewayPerAZ keeps each zone's egress up when another zone fails,
	// at the price of one NAT gateway per zone.
	NATGatewayPerAZ bool
}

// NodeGroupArgs sizes the managed node group.
type NodeGroupArgs struct {
	InstanceTypes []string
	// CapacityType is ON_DEMAND or SPOT.
	CapacityType string
	MinSize      int
	DesiredSize  int
	MaxSize      int
	DiskSizeGiB  int
}

// Cluster is an EKS cluster with its network, node group and provider.
type Cluster struct {
	pulumi.ResourceState

	EKS       *eks.Cluster
	NodeGroup *eks.ManagedNodeGroup
	// Provider deploys onto the cluster; it authenticates with the AWS CLI
	// (`aws eks get-token`), as the kubeconfig does.
	Provider *kubernetes.Provider

	// ClusterName is the EKS cluster's name.
	ClusterName pulumi.StringOutput
	// Kubeconfig is the cluster's kubeconfig as JSON; a secret.
	Kubeconfig pulumi.StringOutput
	// NodeSelector selects the node group's nodes.
	NodeSelector map[string]string
}

// NewCluster creates the cluster, and the VPC when args.Network names none.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		return nil, fmt.Errorf("EksCluster %q: args are required", name)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(ClusterType, name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)

	vpc := existingNetwork(args.Network)
	if !args.Network.existing() {
		var err error
		if vpc, err = newNetwork(ctx, c, name, args.Network, args.Tags); err != nil {
			return nil, err
		}
	}

	clusterArgs := &eks.ClusterArgs{
		Version:                      pulumi.String(args.KubernetesVersion),
		AuthenticationMode:           ptr(eks.AuthenticationModeApi),
		SkipDefaultNodeGroup:         ptr(true),
		EnabledClusterLogTypes:       pulumi.ToStringArray(args.LogTypes),
		EndpointPrivateAccess:        pulumi.Bool(true),
		EndpointPublicAccess:         pulumi.Bool(true),
		PublicAccessCidrs:            pulumi.ToStringArray(args.PublicAccessCIDRs),
		VpcId:                        vpc.id,
		PublicSubnetIds:              vpc.publicSubnets,
		PrivateSubnetIds:             vpc.privateSubnets,
		NodeAssociatePublicIpAddress: ptr(false),
		Tags:                         pulumi.ToStringMap(args.Tags),
	}
	if args.Name != "" {
		clusterArgs.Name = pulumi.String(args.Name)
	}
	if len(args.AdminARNs) > 0 {
		clusterArgs.AccessEntries = adminAccessEntries(args.AdminARNs)
	}
	var err error
	c.EKS, err = eks.NewCluster(ctx, name, clusterArgs, child)
	if err != nil {
		return nil, err
	}

	role, err := newNodeRole(ctx, name, args.Tags, child)
	if err != nil {
		return nil, err
	}

	c.NodeSelector = map[string]string{NodePoolLabel: name}
	ng := args.NodeGroup
	// With authentication mode API, EKS itself creates the access entry
	// that lets a managed node group's role join the cluster.
	c.NodeGroup, err = eks.NewManagedNodeGroup(ctx, name+"-nodes", &eks.ManagedNodeGroupArgs{
		Cluster:         c.EKS,
		NodeRole:        role,
		OperatingSystem: eks.OperatingSystemAL2023,
		SubnetIds:       vpc.privateSubnets,
		InstanceTypes:   pulumi.ToStringArray(ng.InstanceTypes),
		CapacityType:    pulumi.String(ng.CapacityType),
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(ng.MinSize),
			DesiredSize: pulumi.Int(ng.DesiredSize),
			MaxSize:     pulumi.Int(ng.MaxSize),
		},
		DiskSize: pulumi.Int(ng.DiskSizeGiB),
		Labels:   pulumi.ToStringMap(c.NodeSelector),
		Tags:     pulumi.ToStringMap(args.Tags),
	}, child)
	if err != nil {
		return nil, err
	}

	c.ClusterName = c.EKS.EksCluster.Name()
	c.Kubeconfig = pulumi.ToSecret(c.EKS.KubeconfigJson).(pulumi.StringOutput)
	c.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
	}, child)
	if err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName,
		"kubeconfig":  c.Kubeconfig,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// nodePolicies are the AWS managed policies every EKS node role needs: join
// the cluster, run the VPC CNI, pull images from ECR.
var nodePolicies = []string{
	"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
	"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
	"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}

func newNodeRole(ctx *pulumi.Context, name string, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	role, err := iam.NewRole(ctx, name+"-nodes", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
		Tags:             pulumi.ToStringMap(tags),
	}, opts...)
	if err != nil {
		return nil, err
	}
	for i, arn := range nodePolicies {
		if _, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-nodes-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(arn),
		}, opts...); err != nil {
			return nil, err
		}
	}
	return role, nil
}

// clusterAdminPolicy is the EKS access policy equal to Kubernetes'
// cluster-admin.
const clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

func adminAccessEntries(arns []string) map[string]eks.AccessEntryArgs {
	entries := make(map[string]eks.AccessEntryArgs, len(arns))
	for i, arn := range arns {
		entries[fmt.Sprintf("admin-%d", i)] = eks.AccessEntryArgs{
			PrincipalArn: pulumi.String(arn),
			AccessPolicies: map[string]eks.AccessPolicyAssociationInput{
				"cluster-admin": eks.AccessPolicyAssociationArgs{
					PolicyArn:   pulumi.String(clusterAdminPolicy),
					AccessScope: awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
				},
			},
		}
	}
	return entries
}

func ptr[T any](v T) *T { return &v }

// availabilityZones returns the first n zones of the region that need no
// opt-in (Local Zones and Wavelength Zones do).
func availabilityZones(ctx *pulumi.Context, n int, opts ...pulumi.InvokeOption) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: ptr("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, opts...)
	if err != nil {
		return nil, err
	}
	if len(res.Names) < n {
		return nil, fmt.Errorf("%d availability zones wanted, but the region offers only %d: %v", n, len(res.Names), res.Names)
	}
	return res.Names[:n], nil
}
