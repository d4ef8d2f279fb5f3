package ekscluster

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// nodePolicies are the AWS managed policies every EKS node role needs: join
// the cluster, run the VPC CNI, pull images from ECR.
var nodePolicies = []string{
	"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
	"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
	"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}

// rootDevice is the root volume of the EKS-optimised AL2023 AMI.
const rootDevice = "/dev/xvda"

// WorkerTaint keeps everything but the Locust workers, which tolerate it,
// off the worker node group's load-generating nodes.
var WorkerTaint = Taint{Key: "locust-eks/workers", Value: "true", Effect: "NoSchedule"}

// Taint is a node taint, with its Kubernetes effect name.
type Taint struct{ Key, Value, Effect string }

// eksTaintEffects maps Kubernetes taint effects to the EKS API's names.
var eksTaintEffects = map[string]string{"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}

// pool is one managed node group to create.
type pool struct {
	name          string
	instanceTypes []string
	capacityType  string
	minSize       int
	desiredSize   int
	maxSize       int
	labels        map[string]string
	taints        []Taint
}

// nodeGroupShared is what both node groups use: the node role (its ARN
// handed over only once its policies are attached) and the launch template.
type nodeGroupShared struct {
	roleARN  pulumi.StringOutput
	policies []pulumi.Resource
	template *ec2.LaunchTemplate
	cluster  *eks.Cluster
	subnets  pulumi.StringArrayInput
	tags     map[string]string
	// version is the cluster's Kubernetes version, which the nodes follow.
	version string
	// egress is what the nodes' way out (NAT routes) is made of.
	egress    []pulumi.Resource
	resources []pulumi.ResourceOption
}

func newNodeGroupShared(ctx *pulumi.Context, name string, cluster *eks.Cluster, version string, subnets pulumi.StringArrayInput, diskGiB int, tags, instanceTags map[string]string, opts ...pulumi.ResourceOption) (*nodeGroupShared, error) {
	role, attachments, err := newNodeRole(ctx, name, tags, opts...)
	if err != nil {
		return nil, err
	}
	template, err := newLaunchTemplate(ctx, name, diskGiB, tags, instanceTags, opts...)
	if err != nil {
		return nil, err
	}
	// The role's policies must exist before the nodes and outlive them, or
	// EKS cannot delete the instances and their network interfaces (the
	// aws_eks_node_group docs). The ARN is handed over only once they are
	// attached, so the node group inside pulumi-eks's component depends on
	// them too, not only the component.
	roleARN := pulumi.All(role.Arn, attachmentIDs(attachments)).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	policies := make([]pulumi.Resource, len(attachments))
	for i, a := range attachments {
		policies[i] = a
	}
	return &nodeGroupShared{roleARN: roleARN, policies: policies, template: template, cluster: cluster, version: version, subnets: subnets, tags: tags, resources: opts}, nil
}

// newPool creates one managed node group. With authentication mode API, EKS
// itself creates the access entry that lets its role join the cluster.
//
// Its version is the cluster's: with a launch template pulumi-eks sets none
// (nodejs/eks/nodegroup.ts, createManagedNodeGroupInternal, v3.9.1), so a
// kubernetesVersion bump upgraded the control plane alone, and EKS refuses
// the next bump while the nodes lag a minor version behind. The node group
// takes the cluster as an input, so the engine upgrades the control plane
// first, as EKS requires.
//
// forceUpdateVersion: the master's PodDisruptionBudget allows no eviction,
// so every managed update (a version bump, a new launch template version)
// would drain the system node, fail to evict the master for 15 minutes and
// end in PodEvictionFailure (EKS user guide, "managed node update
// behavior"). The updates come from `pulumi up`, which the same team runs;
// a test running then is stopped, as it would be by the master's new pods.
func (s *nodeGroupShared) newPool(ctx *pulumi.Context, p pool) (*eks.ManagedNodeGroup, error) {
	var taints awseks.NodeGroupTaintArray
	for _, t := range p.taints {
		taints = append(taints, awseks.NodeGroupTaintArgs{Key: pulumi.String(t.Key), Value: pulumi.String(t.Value), Effect: pulumi.String(eksTaintEffects[t.Effect])})
	}
	return eks.NewManagedNodeGroup(ctx, p.name, &eks.ManagedNodeGroupArgs{
		Cluster:         s.cluster,
		NodeRoleArn:     s.roleARN,
		OperatingSystem: eks.OperatingSystemAL2023,
		SubnetIds:       s.subnets,
		InstanceTypes:   pulumi.ToStringArray(p.instanceTypes),
		CapacityType:    pulumi.String(p.capacityType),
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(p.minSize),
			DesiredSize: pulumi.Int(p.desiredSize),
			MaxSize:     pulumi.Int(p.maxSize),
		},
		// The disk size lives in the launch template: EKS refuses a node
		// group that sets both.
		LaunchTemplate: &awseks.NodeGroupLaunchTemplateArgs{
			Id:      s.template.ID(),
			Version: s.template.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput),
		},
		Version:            pulumi.String(s.version),
		ForceUpdateVersion: pulumi.Bool(true),
		Labels:             pulumi.ToStringMap(p.labels),
		Taints:             taints,
		Tags:               pulumi.ToStringMap(s.tags),
	}, append(slices.Clone(s.resources), pulumi.DependsOn(append(slices.Clone(s.policies), s.egress...)))...)
}

func newNodeRole(ctx *pulumi.Context, name string, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.Role, []*iam.RolePolicyAttachment, error) {
	role, err := iam.NewRole(ctx, name+"-nodes", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
		Tags:             pulumi.ToStringMap(tags),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	var attachments []*iam.RolePolicyAttachment
	for i, arn := range nodePolicies {
		a, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-nodes-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(arn),
		}, opts...)
		if err != nil {
			return nil, nil, err
		}
		attachments = append(attachments, a)
	}
	return role, attachments, nil
}

func attachmentIDs(attachments []*iam.RolePolicyAttachment) pulumi.IDArray {
	ids := make(pulumi.IDArray, len(attachments))
	for i, a := range attachments {
		ids[i] = a.ID()
	}
	return ids
}

// newLaunchTemplate carries what a managed node group cannot pass on by
// itself: tags for the instances and their volumes, the biggest part of the
// bill (node-group tags stay on the node group: EKS user guide,
// "Tagging Amazon EC2 instances" in launch-templates.adoc), and the root
// volume's size, which EKS refuses on the node group when a template is used.
// No image: EKS still picks the AL2023 AMI for the node group's version.
func newLaunchTemplate(ctx *pulumi.Context, name string, diskGiB int, tags, instanceTags map[string]string, opts ...pulumi.ResourceOption) (*ec2.LaunchTemplate, error) {
	spec := func(resourceType string) ec2.LaunchTemplateTagSpecificationInput {
		return ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String(resourceType), Tags: pulumi.ToStringMap(instanceTags)}
	}
	return ec2.NewLaunchTemplate(ctx, name+"-nodes", &ec2.LaunchTemplateArgs{
		Description: pulumi.String("Locust nodes of " + name + ": root volume and tags for instances and volumes"),
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			ec2.LaunchTemplateBlockDeviceMappingArgs{
				DeviceName: pulumi.String(rootDevice),
				Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
					VolumeSize:          pulumi.Int(diskGiB),
					VolumeType:          pulumi.String("gp3"),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{spec("instance"), spec("volume")},
		// IMDSv2 only, one hop: the instance itself reaches the metadata
		// service, a pod (one more hop through its network namespace) does
		// not, so Locust pods running user code cannot take the node role's
		// credentials. Without these the AMI's defaults apply (AL2023 is
		// flagged for IMDSv2 with a hop limit of 2: EC2 user guide,
		// "Configure instance metadata options for new instances").
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		Tags: pulumi.ToStringMap(tags),
		// A new version for each change; the node group rolls onto it.
		UpdateDefaultVersion: pulumi.Bool(true),
	}, opts...)
}
