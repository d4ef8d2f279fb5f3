// Package resultsbucket is the S3 bucket that keeps load-test results: each
// run's folder, and the baselines later runs compare with.
package resultsbucket

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BucketType is the Pulumi type token of the Bucket component.
const BucketType = "locust-eks:aws:ResultsBucket"

// Args configures a Bucket.
type Args struct {
	// ExpireDays removes results this many days old (and replaced versions
	// as old); 0 keeps them forever.
	ExpireDays int
	// ForceDestroy lets `pulumi destroy` delete the bucket with the results
	// in it. Without it, destroy leaves the bucket and its settings in
	// place, results and protections intact, and only drops them from the
	// stack, so that no one loses a campaign's results by tearing down its
	// cluster.
	ForceDestroy bool
	Tags         map[string]string
}

// Bucket is a private, encrypted, versioned bucket with a lifecycle rule.
type Bucket struct {
	pulumi.ResourceState

	Bucket *s3.BucketV2
	// Name is the bucket's name, a stack output for cmd/loadtest.
	Name pulumi.StringOutput
}

// New creates the bucket. Its name is Pulumi's, from name, so that stacks
// never collide on S3's global names.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Bucket, error) {
	if args.ExpireDays < 0 {
		return nil, fmt.Errorf("ResultsBucket %q: ExpireDays is %d; 0 (keep) or more", name, args.ExpireDays)
	}
	b := &Bucket{}
	if err := ctx.RegisterComponentResource(BucketType, name, b, opts...); err != nil {
		return nil, err
	}
	// Without force, every part is retained on delete. Deleting them in
	// turn would strip the settings first (public access block,
	// encryption, versioning, expiry: the bucket's dependents go before it)
	// and then fail on the bucket, BucketNotEmpty, leaving destroy red and a
	// bucket of results without its protections. The option is recorded in
	// the state by `up`, which destroy reads: changing ForceDestroy needs an
	// `up` before the destroy, as the bucket's own forceDestroy does.
	child := []pulumi.ResourceOption{pulumi.Parent(b), pulumi.RetainOnDelete(!args.ForceDestroy)}
	var err error
	b.Bucket, err = s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(args.ForceDestroy),
		Tags:         pulumi.ToStringMap(args.Tags),
	}, child...)
	if err != nil {
		return nil, err
	}
	id := b.Bucket.ID()
	// No ACLs, no public access: results may hold internal URLs and error
	// texts of the system under test.
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: id,
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                id,
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, child...); err != nil {
		return nil, err
	}
	// Versioning keeps a baseline that a later run overwrote by mistake.
	versioning, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket:                  id,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, child...)
	if err != nil {
		return nil, err
	}
	rule := s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("results"),
		Status: pulumi.String("Enabled"),
		Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(1),
		},
	}
	if args.ExpireDays > 0 {
		rule.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(args.ExpireDays)}
		rule.NoncurrentVersionExpiration = &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(args.ExpireDays)}
	}
	// A lifecycle rule on a versioned bucket must follow the versioning
	// (the aws_s3_bucket_lifecycle_configuration docs).
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: id,
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, append(child, pulumi.DependsOn([]pulumi.Resource{versioning}))...); err != nil {
		return nil, err
	}
	b.Name = b.Bucket.Bucket
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{"name": b.Name}); err != nil {
		return nil, err
	}
	return b, nil
}
