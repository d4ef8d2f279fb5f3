// Package ekscluster provisions the AWS side of a load test: an EKS cluster,
// the VPC it runs in (or an existing one), a managed node group for the
// Locust pods, and a Kubernetes provider for that cluster.
package ekscluster

import (
	"fmt"
	"net/netip"

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
	// CreatorARN is the IAM role or user that creates the cluster, which
	// EKS makes an administrator itself; it never gets a second entry. Empty
	// when the stack does not record it (see checkCaller).
	CreatorARN string
	// Credentials are how the AWS provider authenticates; the Kubernetes
	// provider authenticates the same way.
	Credentials Credentials
	// CheckEndpoint, when set, is called with the API endpoint once it is
	// known (at preview for an existing cluster) and fails the update early
	// when this machine cannot reach it. DialEndpoint is the real check.
	CheckEndpoint func(endpoint string) error
	Network       NetworkArgs
	NodeGroup     NodeGroupArgs
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
	// Provider deploys onto the cluster, with the AWS provider's identity,
	// through the AWS CLI (`aws eks get-token`). It depends on the node
	// group: what it deploys waits for nodes and is deleted before them.
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
	// Before anything exists: an identity that could not reach the cluster
	// would create it and then fail on every Kubernetes object.
	if err := checkCaller(ctx, args.CreatorARN, args.AdminARNs); err != nil {
		return nil, err
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
	if entries := adminAccessEntries(args.AdminARNs, args.CreatorARN); len(entries) > 0 {
		clusterArgs.AccessEntries = entries
	}
	var err error
	c.EKS, err = eks.NewCluster(ctx, name, clusterArgs, child)
	if err != nil {
		return nil, err
	}

	c.NodeSelector = map[string]string{NodePoolLabel: name}
	c.NodeGroup, err = newNodeGroup(ctx, name, c.EKS, vpc.privateSubnets, args.NodeGroup, c.NodeSelector, args.Tags, child)
	if err != nil {
		return nil, err
	}

	c.ClusterName = c.EKS.EksCluster.Name()
	// The kubeconfig users get has no profile: theirs may be named
	// differently. The provider's has the stack's own.
	c.Kubeconfig = pulumi.ToSecret(kubeconfig(c.EKS.EksCluster, args.Credentials.withoutProfile())).(pulumi.StringOutput)
	providerConfig := kubeconfig(c.EKS.EksCluster, args.Credentials)
	if args.CheckEndpoint != nil {
		providerConfig = checkedKubeconfig(c.EKS.EksCluster, providerConfig, args.CheckEndpoint, args.PublicAccessCIDRs)
	}
	c.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: pulumi.ToSecret(providerConfig).(pulumi.StringOutput),
	}, child, pulumi.DependsOn([]pulumi.Resource{c.NodeGroup}))
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

func ptr[T any](v T) *T { return &v }
