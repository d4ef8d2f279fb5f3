package ekscluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Who administers the cluster. pulumi-eks v3.9.1 always creates the cluster
// with bootstrapClusterCreatorAdminPermissions (nodejs/eks/cluster/cluster.ts,
// accessConfig), so EKS gives the identity that creates the cluster an access
// entry of its own; a second entry for the same principal fails ("An IAM
// principal can't be included in more than one access entry"). That identity
// is recorded once, in CreatorARN, and never gets a second entry; every other
// administrator is an explicit entry from AdminARNs. Filtering out whoever runs
// `pulumi up` instead would delete CI's own entry on CI's next run.

// clusterAdminPolicy is the EKS access policy equal to Kubernetes'
// cluster-admin.
const clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

// adminAccessEntries are the access entries of arns, leaving out creator,
// which EKS made an administrator itself, and a principal listed twice.
//
// pulumi-eks names each entry's resource after its key ("<cluster>-<key>",
// createAccessEntries in nodejs/eks/cluster/authenticationMode.ts), and an
// entry's principal cannot change in place (principal_arn forces a new
// resource). A key taken from the list position moved principals between
// entries when the list was reordered or shortened: the replacement is
// created before the old entry is deleted, for a principal that still has
// an entry, and EKS refuses a second one. The key is taken from the
// principal itself, so an administrator's entry keeps its resource whatever
// else the list does.
func adminAccessEntries(arns []string, creator string) map[string]eks.AccessEntryArgs {
	entries := map[string]eks.AccessEntryArgs{}
	for _, arn := range arns {
		if creator != "" && samePrincipal(arn, creator) {
			continue
		}
		key := accessEntryKey(arn)
		if _, listed := entries[key]; listed {
			continue
		}
		entries[key] = eks.AccessEntryArgs{
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

// accessEntryKey names the access entry of one principal: "admin-" and a
// digest of the principal as samePrincipal compares it, short enough for
// the resource names built from it.
func accessEntryKey(arn string) string {
	sum := sha256.Sum256([]byte(principalKey(arn)))
	return "admin-" + hex.EncodeToString(sum[:6])
}

// checkCaller fails, before anything is created, when the identity running
// Pulumi could not reach the cluster's Kubernetes API: it is neither the
// recorded creator nor one of the administrators. With no creator recorded,
// a caller listed among the administrators is ambiguous: if this run creates
// the cluster, EKS makes the caller an administrator itself and the explicit
// entry for it fails as a duplicate. With no creator recorded and a caller
// not listed, the caller reaches the API if this run creates the cluster or
// if EKS holds an access entry for it (the one EKS made when this caller
// created the cluster on an earlier run): it returns that caller, for
// callerAdministers, which asks EKS once the cluster is known.
func checkCaller(ctx *pulumi.Context, creator string, admins []string, opts ...pulumi.InvokeOption) (unlisted, session string, err error) {
	id, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, opts...)
	if err != nil {
		return "", "", fmt.Errorf("asking AWS who runs this (sts:GetCallerIdentity): %w", err)
	}
	caller := principalARN(id.Arn)
	isAdmin := slices.ContainsFunc(admins, func(a string) bool { return samePrincipal(a, caller) })
	switch {
	case creator == "" && isAdmin:
		return "", "", fmt.Errorf("clusterCreatorArn is not set and clusterAdminArns lists %s, the identity running this: "+
			"if this run creates the cluster, EKS makes it an administrator itself and a second access entry for it fails. "+
			"Set clusterCreatorArn to the identity that creates (or created) the cluster: pulumi config set clusterCreatorArn ARN", caller)
	case creator != "" && !samePrincipal(creator, caller) && !isAdmin:
		return "", "", fmt.Errorf("the identity running this, %s, is neither clusterCreatorArn (%s) nor in clusterAdminArns, "+
			"so it could not reach the cluster's Kubernetes API; add it to clusterAdminArns", caller, creator)
	case creator == "" && !isAdmin:
		return caller, id.Arn, nil
	}
	return "", "", nil
}

// clockSkew is how far this machine's clock may trail AWS's: a cluster this
// run creates is never dated earlier than the run's start minus this.
const clockSkew = 5 * time.Minute

// callerAdministers is config once the caller, whom the stack lists nowhere,
// is known to reach the cluster's Kubernetes API, and otherwise fails naming
// it. A cluster created by this run is the caller's (pulumi-eks bootstraps
// the creator's entry). For one that existed before the run, EKS is asked
// (eks:DescribeAccessEntry) whether the caller holds an entry: the creator's
// second up finds the entry EKS made for it, a stranger finds none. An
// existing cluster is dated at preview, so a stranger fails there, before
// any change. A read that fails for another reason (access denied, say)
// warns and goes on: the Kubernetes provider then reports what is wrong.
// session is the caller's ARN as STS reports it.
func callerAdministers(ctx *pulumi.Context, cluster awseks.ClusterOutput, config pulumi.StringOutput, started time.Time, caller, session string) pulumi.StringOutput {
	return pulumi.All(cluster.CreatedAt(), cluster.Name(), config).ApplyT(func(v []any) (string, error) {
		created, err := parseCreatedAt(v[0].(string))
		if err != nil {
			return "", err
		}
		if !created.Before(started.Add(-clockSkew)) {
			return v[2].(string), nil
		}
		name := v[1].(string)
		principal, pathErr := issuerARN(ctx, session, caller)
		found, err := holdsAccessEntry(ctx, name, principal)
		if err == nil && !found && pathErr != nil {
			// Without the role's path the answer proves nothing: an
			// entry names the role with it.
			err = fmt.Errorf("no entry for %s, and IAM did not give the role's path, which an entry names (iam:GetRole: %v)", principal, pathErr)
		}
		switch {
		case err != nil:
			if werr := ctx.Log.Warn(fmt.Sprintf("could not ask EKS whether %s, the identity running this, holds an access entry on cluster %s (%v); "+
				"going on: if it holds none, the Kubernetes objects fail as Unauthorized. Grant eks:DescribeAccessEntry and iam:GetRole to check this at preview.",
				caller, name, err), nil); werr != nil {
				return "", werr
			}
		case !found:
			return "", fmt.Errorf("the identity running this, %s, holds no access entry on cluster %s, which exists since %s, "+
				"and is not in clusterAdminArns: it could not reach the cluster's Kubernetes API. "+
				"List it in clusterAdminArns and set clusterCreatorArn to the identity that created the cluster "+
				"(CI's deploy role when deploy.yml created it; a listed caller with no creator recorded is refused), "+
				"in an up run by an identity that administers the cluster; or run this as the identity that created the cluster",
				caller, name, created.UTC().Format(time.RFC3339))
		}
		return v[2].(string), nil
	}).(pulumi.StringOutput)
}

// issuerARN is the IAM principal an access entry of the caller names. An
// entry keeps a role's path (EKS user guide, "Create access entries": a
// role's ARN "can include a path"), which an assumed-role session's ARN
// does not carry, so the role's full ARN is asked of IAM
// (aws.iam.getSessionContext, which reads the role with iam:GetRole). When
// IAM does not answer, the ARN without a path is the best guess, and the
// error says why.
func issuerARN(ctx *pulumi.Context, session, principal string) (string, error) {
	if session == principal {
		return principal, nil
	}
	res, err := iam.GetSessionContext(ctx, &iam.GetSessionContextArgs{Arn: session})
	if err != nil {
		return principal, err
	}
	if res.IssuerArn == "" {
		return principal, fmt.Errorf("no issuer ARN for %s", session)
	}
	return res.IssuerArn, nil
}

// holdsAccessEntry asks EKS whether principal has an access entry on the
// cluster. The data source behind getAccessEntry reports a missing entry
// (and a missing cluster: EKS answers both with ResourceNotFoundException)
// as "couldn't find resource" (terraform-provider-aws
// internal/service/eks/access_entry.go findAccessEntryByTwoPartKey, which
// returns a retry.NotFoundError); any other error is not an answer.
func holdsAccessEntry(ctx *pulumi.Context, cluster, principal string) (bool, error) {
	_, err := awseks.LookupAccessEntry(ctx, &awseks.LookupAccessEntryArgs{ClusterName: cluster, PrincipalArn: principal})
	switch {
	case err == nil:
		return true, nil
	case strings.Contains(err.Error(), "couldn't find resource"):
		return false, nil
	}
	return false, fmt.Errorf("eks:DescribeAccessEntry: %w", err)
}

// parseCreatedAt reads aws.eks.Cluster's createdAt. The Terraform provider
// that pulumi-aws v6 bridges writes it with Go's time.Time.String
// (internal/service/eks/cluster.go, 5.x: aws.ToTime(cluster.CreatedAt).String());
// later versions write RFC 3339. Both are read.
func parseCreatedAt(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999 -0700 MST", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("the cluster's createdAt %q is neither Go's time format nor RFC 3339", s)
}

// principalARN turns the ARN sts:GetCallerIdentity reports into the IAM
// principal an access entry names: an assumed-role session
// (arn:aws:sts::111122223333:assumed-role/NAME/SESSION) becomes its role
// (arn:aws:iam::111122223333:role/NAME). Users and roles stay as they are.
func principalARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return arn
	}
	role := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], role)
}

// samePrincipal compares IAM principal ARNs the way an assumed-role ARN can
// be compared with a role's: account, kind and name, ignoring a role's path
// (which an assumed-role ARN does not carry).
func samePrincipal(a, b string) bool {
	return principalKey(a) == principalKey(b)
}

// principalKey is what samePrincipal compares: partition, account, kind and
// name of the principal.
func principalKey(arn string) string {
	parts := strings.SplitN(principalARN(arn), ":", 6)
	if len(parts) != 6 {
		return arn
	}
	kind, name, _ := strings.Cut(parts[5], "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return parts[1] + ":" + parts[4] + ":" + kind + "/" + name
}
