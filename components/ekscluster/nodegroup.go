package ekscluster

import (
	"fmt"
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

// newNodeGroup creates the node role, a launch template and the managed node
// group. With authentication mode API, EKS itself creates the access entry
// that lets a managed node group's role join the cluster.
func newNodeGroup(ctx *pulumi.Context, name string, cluster *eks.Cluster, subnets pulumi.StringArrayInput, ng NodeGroupArgs,
	labels, tags map[string]string, opts ...pulumi.ResourceOption) (*eks.ManagedNodeGroup, error) {
	role, attachments, err := newNodeRole(ctx, name, tags, opts...)
	if err != nil {
		return nil, err
	}
	template, err := newLaunchTemplate(ctx, name, ng.DiskSizeGiB, tags, opts...)
	if err != nil {
		return nil, err
	}
	// The role's policies must exist before the nodes and outlive them, or
	// EKS cannot delete the instances and their network interfaces (the
	// aws_eks_node_group docs). The ARN is handed over only once they are
	// attached, so the node group inside pulumi-eks's component depends on
	// them too, not only the component.
	roleARN := pulumi.All(role.Arn, attachmentIDs(attachments)).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	dependsOn := make([]pulumi.Resource, len(attachments))
	for i, a := range attachments {
		dependsOn[i] = a
	}
	return eks.NewManagedNodeGroup(ctx, name+"-nodes", &eks.ManagedNodeGroupArgs{
		Cluster:         cluster,
		NodeRoleArn:     roleARN,
		OperatingSystem: eks.OperatingSystemAL2023,
		SubnetIds:       subnets,
		InstanceTypes:   pulumi.ToStringArray(ng.InstanceTypes),
		CapacityType:    pulumi.String(ng.CapacityType),
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(ng.MinSize),
			DesiredSize: pulumi.Int(ng.DesiredSize),
			MaxSize:     pulumi.Int(ng.MaxSize),
		},
		// The disk size lives in the launch template: EKS refuses a node
		// group that sets both.
		LaunchTemplate: &awseks.NodeGroupLaunchTemplateArgs{
			Id:      template.ID(),
			Version: template.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput),
		},
		Labels: pulumi.ToStringMap(labels),
		Tags:   pulumi.ToStringMap(tags),
	}, append(opts, pulumi.DependsOn(dependsOn))...)
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
func newLaunchTemplate(ctx *pulumi.Context, name string, diskGiB int, tags map[string]string, opts ...pulumi.ResourceOption) (*ec2.LaunchTemplate, error) {
	spec := func(resourceType string) ec2.LaunchTemplateTagSpecificationInput {
		return ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String(resourceType), Tags: pulumi.ToStringMap(tags)}
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
		Tags:              pulumi.ToStringMap(tags),
		// A new version for each change; the node group rolls onto it.
		UpdateDefaultVersion: pulumi.Bool(true),
	}, opts...)
}
