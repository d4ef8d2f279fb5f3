// Package ekscluster provisions the AWS side of a load test: an EKS cluster,
// the VPC it runs in (or an existing one), a managed node group for the
// Locust pods, and a Kubernetes provider for that cluster.
package ekscluster

import (
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterType is the Pulumi type token of the Cluster component.
const ClusterType = "locust-eks:aws:EksCluster"

// NodePoolLabel is the node label each node group carries, "system" or
// "workers", and the Locust pods select on.
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
	// NodeGroup is the workers' node group: tainted, so that only the
	// Locust workers run there; spot allowed.
	NodeGroup NodeGroupArgs
	// SystemInstanceTypes are the types of the on-demand node group for the
	// master and the cluster's own pods, which a spot reclaim never takes.
	SystemInstanceTypes []string
	// Demand is what the Locust pods request; both node groups are sized
	// from it at preview.
	Demand Demand
	// Now is the moment KubernetesVersion's support is judged at when EKS
	// cannot be asked and the fallback table's dates decide; the zero time
	// is the clock's now. Tests move it to see how the stack ages.
	Now time.Time
	// MaxHourlyCost, when above 0, fails the preview, before anything is
	// created, if the estimated cost per hour (Cluster.Cost) is higher.
	MaxHourlyCost float64
	// NetworkLoadBalancers are the NLBs the Kubernetes objects on the
	// cluster will ask AWS for (the web UI's LoadBalancer Service): this
	// component does not create them, but the stack pays for them, so the
	// estimate and the ceiling count their hours.
	NetworkLoadBalancers int
	// Tags go on every AWS resource that takes tags.
	Tags map[string]string
	// VolatileTags go on every AWS resource like Tags, except the
	// instances and volumes the launch template tags: they change during
	// the stack's life (its expiry), and a new launch template version
	// would roll every node.
	VolatileTags map[string]string
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
	// DesiredSize 0 sizes the node group from the workers' needs.
	DesiredSize int
	MaxSize     int
	DiskSizeGiB int
}

// Cluster is an EKS cluster with its network, node group and provider.
type Cluster struct {
	pulumi.ResourceState

	EKS *eks.Cluster
	// NodeGroup holds the workers, SystemNodeGroup the master and add-ons.
	NodeGroup       *eks.ManagedNodeGroup
	SystemNodeGroup *eks.ManagedNodeGroup
	// Plan is how many nodes of which type each node group starts with.
	Plan NodePlan
	// Cost is what the stack costs per hour at Plan, from AWS's prices.
	Cost Cost
	// Provider deploys onto the cluster, with the AWS provider's identity,
	// through the AWS CLI (`aws eks get-token`). It depends on the node
	// group: what it deploys waits for nodes and is deleted before them.
	Provider *kubernetes.Provider

	// ClusterName is the EKS cluster's name.
	ClusterName pulumi.StringOutput
	// Kubeconfig is the cluster's kubeconfig as JSON; a secret.
	Kubeconfig pulumi.StringOutput
	// EgressIPs are the public addresses the nodes' traffic to the
	// internet leaves from (the NAT gateways' Elastic IPs), for a target's
	// allow-list; empty in an existing VPC.
	EgressIPs pulumi.StringArrayOutput
	// SystemNodeSelector and WorkerNodeSelector select each group's nodes;
	// the workers must also tolerate WorkerTaint.
	SystemNodeSelector, WorkerNodeSelector map[string]string
}

// NewCluster creates the cluster, and the VPC when args.Network names none.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		return nil, fmt.Errorf("EksCluster %q: args are required", name)
	}
	checked, err := checkBeforeCreating(ctx, args)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Plan: checked.plan, Cost: checked.cost}
	if err := ctx.RegisterComponentResource(ClusterType, name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)

	tags := maps.Clone(args.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, args.VolatileTags)

	vpc := existingNetwork(args.Network)
	if !args.Network.existing() {
		var err error
		if vpc, err = newNetwork(ctx, c, name, args.Network, tags); err != nil {
			return nil, err
		}
	}
	c.EgressIPs = vpc.egressIPs.ToStringArrayOutput()
	if c.EKS, err = newControlPlane(ctx, name, args, vpc, tags, child); err != nil {
		return nil, err
	}
	if err := c.newNodeGroups(ctx, name, args, vpc, tags, child); err != nil {
		return nil, err
	}
	if err := c.newProvider(ctx, name, args, checked, child); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName,
		"kubeconfig":  c.Kubeconfig,
		"nodePlan":    c.Plan.Map(),
		"egressIps":   c.EgressIPs,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// preflight is what NewCluster learns before it creates anything.
type preflight struct {
	// started is when the checks began: a cluster created after it is this
	// run's (callerAdministers).
	started time.Time
	// unlisted and session are the caller the stack lists nowhere, and its
	// session's ARN; "" when the caller is listed (checkCaller).
	unlisted, session string
	plan              NodePlan
	cost              Cost
}

// checkBeforeCreating fails the preview before anything exists: an identity
// that could not reach the cluster would create it and then fail on every
// Kubernetes object; a version EKS would not run, pods that fit no node, a
// cost over the ceiling or a quota too small would fail later and dearer.
func checkBeforeCreating(ctx *pulumi.Context, args *ClusterArgs) (preflight, error) {
	started := time.Now()
	unlisted, session, err := checkCaller(ctx, args.CreatorARN, args.AdminARNs)
	if err != nil {
		return preflight{}, err
	}
	version, err := checkVersion(ctx, args.KubernetesVersion, args.now())
	if err != nil {
		return preflight{}, err
	}
	// EC2's figures for both groups' types, read once: the plan and the
	// quota check both need them.
	workerTypes, err := instanceCapacities(ctx, args.NodeGroup.InstanceTypes)
	if err != nil {
		return preflight{}, err
	}
	systemTypes, err := instanceCapacities(ctx, args.SystemInstanceTypes)
	if err != nil {
		return preflight{}, err
	}
	plan, err := planNodes(args, workerTypes, systemTypes)
	if err != nil {
		return preflight{}, err
	}
	cost, err := estimateCost(ctx, args, plan, version.Extended)
	if err != nil {
		return preflight{}, err
	}
	if err := checkQuotas(ctx, args, plan, workerTypes, systemTypes); err != nil {
		return preflight{}, err
	}
	return preflight{started: started, unlisted: unlisted, session: session, plan: plan, cost: cost}, nil
}

// newControlPlane creates the EKS cluster itself, in vpc, with no node
// group of its own: newNodeGroups adds them.
func newControlPlane(ctx *pulumi.Context, name string, args *ClusterArgs, vpc network, tags map[string]string, opts ...pulumi.ResourceOption) (*eks.Cluster, error) {
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
		// The VPC CNI's network policy agent enforces the LocustCluster's
		// NetworkPolicies; without it they are stored and ignored.
		VpcCniOptions: &eks.VpcCniOptionsArgs{EnableNetworkPolicy: pulumi.Bool(true)},
		Tags:          pulumi.ToStringMap(tags),
	}
	if args.Name != "" {
		clusterArgs.Name = pulumi.String(args.Name)
	}
	if entries := adminAccessEntries(args.AdminARNs, args.CreatorARN); len(entries) > 0 {
		clusterArgs.AccessEntries = entries
	}
	return eks.NewCluster(ctx, name, clusterArgs, opts...)
}

// newNodeGroups creates the on-demand system group, then the workers'
// tainted group, both sized by c.Plan, in vpc's private subnets.
func (c *Cluster) newNodeGroups(ctx *pulumi.Context, name string, args *ClusterArgs, vpc network, tags map[string]string, opts ...pulumi.ResourceOption) error {
	c.SystemNodeSelector = map[string]string{NodePoolLabel: "system"}
	c.WorkerNodeSelector = map[string]string{NodePoolLabel: "workers"}
	shared, err := newNodeGroupShared(ctx, name, c.EKS, args.KubernetesVersion, vpc.privateSubnets, args.NodeGroup.DiskSizeGiB, tags, args.Tags, opts...)
	if err != nil {
		return err
	}
	shared.egress = vpc.egress
	c.SystemNodeGroup, err = shared.newPool(ctx, pool{
		name: name + "-system", instanceTypes: args.SystemInstanceTypes, capacityType: "ON_DEMAND",
		minSize: 1, desiredSize: c.Plan.System.Nodes, maxSize: c.Plan.systemMaxSize(), labels: c.SystemNodeSelector,
	})
	if err != nil {
		return err
	}
	ng := args.NodeGroup
	c.NodeGroup, err = shared.newPool(ctx, pool{
		name: name + "-workers", instanceTypes: ng.InstanceTypes, capacityType: ng.CapacityType,
		minSize: ng.MinSize, desiredSize: c.Plan.Workers.Nodes, maxSize: ng.MaxSize,
		labels: c.WorkerNodeSelector, taints: []Taint{WorkerTaint},
	})
	return err
}

// newProvider sets the cluster's name and kubeconfig, and creates the
// Kubernetes provider on it, which waits for both node groups.
func (c *Cluster) newProvider(ctx *pulumi.Context, name string, args *ClusterArgs, checked preflight, opts ...pulumi.ResourceOption) error {
	c.ClusterName = c.EKS.EksCluster.Name()
	// The kubeconfig users get has no profile: theirs may be named
	// differently. The provider's has the stack's own.
	c.Kubeconfig = pulumi.ToSecret(kubeconfig(c.EKS.EksCluster, args.Credentials.withoutProfile())).(pulumi.StringOutput)
	providerConfig := kubeconfig(c.EKS.EksCluster, args.Credentials)
	if args.CheckEndpoint != nil {
		providerConfig = checkedKubeconfig(c.EKS.EksCluster, providerConfig, args.CheckEndpoint, args.PublicAccessCIDRs)
	}
	if checked.unlisted != "" {
		providerConfig = callerAdministers(ctx, c.EKS.EksCluster, providerConfig, checked.started, checked.unlisted, checked.session)
	}
	var err error
	c.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: pulumi.ToSecret(providerConfig).(pulumi.StringOutput),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{c.SystemNodeGroup, c.NodeGroup}))...)
	return err
}

func ptr[T any](v T) *T { return &v }

// planNodes sizes both node groups from what EC2 says of their instance
// types (instanceCapacities); it runs at preview, so pods that cannot fit
// fail it.
func planNodes(args *ClusterArgs, workerTypes, systemTypes []InstanceCapacity) (NodePlan, error) {
	ng := args.NodeGroup
	workers, err := PlanWorkers(args.Demand, workerTypes, ng.MinSize, ng.DesiredSize, ng.MaxSize)
	if err != nil {
		return NodePlan{}, err
	}
	system, err := PlanSystem(args.Demand, systemTypes)
	if err != nil {
		return NodePlan{}, err
	}
	return NodePlan{Workers: workers, System: system}, nil
}
