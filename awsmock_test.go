package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Answers of the AWS provider's functions, as the real ones give them. The
// rules come from the upstream data sources, not from this program:
// terraform-provider-aws internal/service/ec2/ec2_availability_zones_data_source.go
// (EC2 DescribeAvailabilityZones with the State and Filters, then sorted by
// name, then ExcludeNames and ExcludeZoneIds dropped, names and zone IDs
// kept in step) and internal/service/sts/caller_identity_data_source.go
// (sts:GetCallerIdentity's Account, Arn, UserId).

// zone is one availability zone as DescribeAvailabilityZones reports it.
type zone struct {
	name, id, zoneType, optIn, state string
}

// usEast1 is us-east-1 as an account might see it: the name to ID mapping
// differs per account, and here us-east-1c is use1-az3, where EKS refuses
// cluster subnets; a Local Zone needs opt-in.
var usEast1 = []zone{
	{"us-east-1a", "use1-az6", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1b", "use1-az1", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1c", "use1-az3", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1d", "use1-az2", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1e", "use1-az4", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1f", "use1-az5", "availability-zone", "opt-in-not-required", "available"},
	{"us-east-1-bos-1a", "use1-bos1-az1", "local-zone", "not-opted-in", "available"},
}

// regionZones are the zones the mocked region answers with: usEast1 unless
// a test plays a zone event (withZones).
var regionZones = usEast1

// withZones makes the mocked region answer with zones for one test.
func withZones(t *testing.T, zones []zone) {
	old := regionZones
	regionZones = zones
	t.Cleanup(func() { regionZones = old })
}

// getAvailabilityZones answers aws:index/getAvailabilityZones.
func getAvailabilityZones(t *testing.T, zones []zone, args resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	strs := func(v resource.PropertyValue) []string {
		var out []string
		if v.IsArray() {
			for _, e := range v.ArrayValue() {
				out = append(out, e.StringValue())
			}
		}
		return out
	}
	matches := func(z zone) bool {
		if s := args["state"]; s.IsString() && s.StringValue() != z.state {
			return false
		}
		if args["allAvailabilityZones"].IsNull() || !args["allAvailabilityZones"].IsBool() || !args["allAvailabilityZones"].BoolValue() {
			// Without allAvailabilityZones, EC2 lists only zones the account has
			// opted into (and those that need no opt-in).
			if z.optIn == "not-opted-in" {
				return false
			}
		}
		if f := args["filters"]; f.IsArray() {
			for _, filter := range f.ArrayValue() {
				name, values := filter.ObjectValue()["name"].StringValue(), strs(filter.ObjectValue()["values"])
				field := map[string]string{"opt-in-status": z.optIn, "zone-type": z.zoneType, "zone-id": z.id, "zone-name": z.name, "state": z.state}
				v, known := field[name]
				if !known {
					t.Fatalf("getAvailabilityZones: the mock knows no filter %q", name)
				}
				if !slices.Contains(values, v) {
					return false
				}
			}
		}
		return !slices.Contains(strs(args["excludeNames"]), z.name) && !slices.Contains(strs(args["excludeZoneIds"]), z.id)
	}
	sorted := slices.Clone(zones)
	slices.SortFunc(sorted, func(a, b zone) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	var names, ids []any
	for _, z := range sorted {
		if matches(z) {
			names, ids = append(names, z.name), append(ids, z.id)
		}
	}
	return resource.NewPropertyMapFromMap(map[string]any{"names": names, "zoneIds": ids, "id": "us-east-1"})
}

// getCallerIdentity answers aws:index/getCallerIdentity for arn.
func getCallerIdentity(arn string) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"accountId": "123456789012", "arn": arn, "userId": "AROAEXAMPLEID:session", "id": "123456789012",
	})
}

// awsAccount is the EKS side of one AWS account as the program's calls see
// it, kept between runs so that a test can play the sequences a stack lives
// through: the creator's first up, its second, another identity's, an up
// interrupted after the cluster exists, destroy, up again. What it keeps and
// answers follows EKS, not this program:
//   - CreateCluster with bootstrapClusterCreatorAdminPermissions (pulumi-eks
//     v3.9.1 always sets it, nodejs/eks/cluster/cluster.ts accessConfig) gives
//     the creating principal an access entry of its own (EKS user guide,
//     "Grant IAM users access to Kubernetes with EKS access entries"); an
//     assumed-role session is recorded as its role;
//   - DescribeAccessEntry finds an entry by cluster and principal ARN, and
//     answers ResourceNotFoundException for a missing entry or cluster, which
//     the data source reports as "reading EKS Access Entry (CLUSTER:ARN):
//     couldn't find resource" (terraform-provider-aws
//     internal/service/eks/access_entry_datasource.go and access_entry.go,
//     findAccessEntryByTwoPartKey; retry.NotFoundError's message);
//   - createdAt is when CreateCluster ran, written with Go's time.String by
//     the Terraform provider pulumi-aws v6 bridges (internal/service/eks/
//     cluster.go in 5.x: aws.ToTime(cluster.CreatedAt).String()).
//
// It cannot model IAM itself: a denied call is only what deny says.
type awsAccount struct {
	clusters map[string]*fakeEKSCluster
	// rolePaths are the IAM paths of the account's roles that have one
	// (role name to path, like "/aws-reserved/sso.amazonaws.com/"); an
	// assumed-role session's ARN does not carry it.
	rolePaths map[string]string
	// deny names API actions ("eks:DescribeAccessEntry") the caller's
	// policy refuses.
	deny map[string]bool
}

// fakeEKSCluster is one EKS cluster of an awsAccount.
type fakeEKSCluster struct {
	createdAt time.Time
	// entries are the principal ARNs with an access entry.
	entries map[string]bool
}

// account is the AWS account the mocked program runs against; nil gives each
// run a new, empty one. Tests that set it restore it.
var account *awsAccount

func newAWSAccount() *awsAccount {
	return &awsAccount{clusters: map[string]*fakeEKSCluster{}, rolePaths: map[string]string{}, deny: map[string]bool{}}
}

// useAccount runs the rest of the test against a, an account that lasts
// between runs.
func useAccount(t *testing.T, a *awsAccount) {
	old := account
	account = a
	t.Cleanup(func() { account = old })
}

// createCluster records what CreateCluster and pulumi-eks's access entries
// leave: a cluster created now, its creator's entry and the explicit ones.
// A cluster that exists is left as it is.
func (a *awsAccount) createCluster(name, callerARN string, explicit []string) *fakeEKSCluster {
	if c, ok := a.clusters[name]; ok {
		return c
	}
	c := &fakeEKSCluster{createdAt: time.Now(), entries: map[string]bool{a.principalOf(callerARN): true}}
	for _, arn := range explicit {
		c.entries[arn] = true
	}
	a.clusters[name] = c
	return c
}

// elapse moves the account's clock on by d between two runs: every cluster
// was created d earlier than it was.
func (a *awsAccount) elapse(d time.Duration) {
	for _, c := range a.clusters {
		c.createdAt = c.createdAt.Add(-d)
	}
}

// destroy is a finished pulumi destroy: no cluster is left.
func (a *awsAccount) destroy() { clear(a.clusters) }

// getAccessEntry answers aws:eks/getAccessEntry:getAccessEntry.
func (a *awsAccount) getAccessEntry(args resource.PropertyMap) (resource.PropertyMap, error) {
	name, arn := args["clusterName"].StringValue(), args["principalArn"].StringValue()
	if a.deny["eks:DescribeAccessEntry"] {
		return nil, fmt.Errorf("reading EKS Access Entry (%s:%s): operation error EKS: DescribeAccessEntry, https response error StatusCode: 403, "+
			"api error AccessDeniedException: User: %s is not authorized to perform: eks:DescribeAccessEntry", name, arn, caller)
	}
	c, ok := a.clusters[name]
	if !ok || !c.entries[arn] {
		return nil, fmt.Errorf("reading EKS Access Entry (%s:%s): couldn't find resource", name, arn)
	}
	return resource.NewPropertyMapFromMap(map[string]any{
		"clusterName": name, "principalArn": arn, "id": name + ":" + arn, "type": "STANDARD",
		"accessEntryArn": "arn:aws:eks:us-east-1:123456789012:access-entry/" + name + "/x",
	}), nil
}

// principalOf is the IAM principal of an STS caller ARN: an assumed-role
// session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) is its role,
// with the role's path (IAM user guide, "IAM identifiers": a role's ARN
// holds its path; the session's does not). The creator's access entry is
// taken to name the role so, as an entry may ("Create access entries": a
// role ARN "can include a path").
func (a *awsAccount) principalOf(arn string) string {
	const marker = ":assumed-role/"
	i := strings.Index(arn, marker)
	if i < 0 || !strings.HasPrefix(arn, "arn:aws:sts::") {
		return arn
	}
	accountID := strings.TrimSuffix(strings.TrimPrefix(arn[:i], "arn:aws:sts::"), ":")
	role, _, _ := strings.Cut(arn[i+len(marker):], "/")
	path := a.rolePaths[role]
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + accountID + ":role" + path + role
}

// getSessionContext answers aws:iam/getSessionContext:getSessionContext as
// the data source does (terraform-provider-aws
// internal/service/iam/session_context_data_source.go): for an assumed-role
// ARN it reads the role (iam:GetRole) and gives its ARN as issuerArn; any
// other ARN is its own issuer.
func (a *awsAccount) getSessionContext(args resource.PropertyMap) (resource.PropertyMap, error) {
	arn := args["arn"].StringValue()
	if a.deny["iam:GetRole"] {
		return nil, fmt.Errorf("reading IAM Role: operation error IAM: GetRole, https response error StatusCode: 403, "+
			"api error AccessDenied: User: %s is not authorized to perform: iam:GetRole", caller)
	}
	return resource.NewPropertyMapFromMap(map[string]any{"arn": arn, "issuerArn": a.principalOf(arn), "id": arn}), nil
}

// describedCluster adds to an aws.eks.Cluster's state what DescribeCluster
// reports once the cluster exists: its API endpoint and CA, and its
// creation time as the account holds it.
func (a *awsAccount) describedCluster(args pulumi.MockResourceArgs) resource.PropertyMap {
	state := args.Inputs.Copy()
	created := time.Now()
	if c, ok := a.clusters[args.Inputs["name"].StringValue()]; ok {
		created = c.createdAt
	}
	state["createdAt"] = resource.NewProperty(created.UTC().String())
	state["endpoint"] = resource.NewProperty("https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com")
	state["certificateAuthority"] = resource.NewProperty(resource.NewPropertyMapFromMap(map[string]any{"data": "LS0tLS1CRUdJTi1DQQ=="}))
	return state
}

// Mocked clusters have an endpoint no one can dial; tests of the check set
// their own.
func init() { endpointCheck = func(string) error { return nil } }

// instanceTypes are EC2's DescribeInstanceTypes figures for the types the
// stacks use: vCPUs and memory from the EC2 instance type pages, ENIs and
// IPv4 addresses per ENI from aws/amazon-vpc-cni-k8s
// pkg/vpc/vpc_ip_resource_limit.go. maximumNetworkInterfaces is the sum over
// the network cards (NetworkInfo.MaximumNetworkInterfaces); networkCards
// lists each card's own (NetworkCardInfo.MaximumNetworkInterfaces), as the
// aws_ec2_instance_type data source maps them (network_cards: index,
// maximum_interfaces). c6in.32xlarge has two cards of 8: 394 pods in
// nodeadm's eni-max-pods.txt, from the default card's 8.
var instanceTypes = map[string]map[string]any{
	"c6i.large":     oneCard(2, 4096, 3, 10),
	"c6a.large":     oneCard(2, 4096, 3, 10),
	"c5.large":      oneCard(2, 4096, 3, 10),
	"c6i.xlarge":    oneCard(4, 8192, 4, 15),
	"c6i.4xlarge":   oneCard(16, 32768, 8, 30),
	"m6i.large":     oneCard(2, 8192, 3, 10),
	"m6i.xlarge":    oneCard(4, 16384, 4, 15),
	"t3.medium":     oneCard(2, 4096, 3, 6),
	"c6in.32xlarge": {"defaultVcpus": 128, "memorySize": 262144, "maximumNetworkInterfaces": 16, "maximumIpv4AddressesPerInterface": 50, "defaultNetworkCardIndex": 0, "maximumNetworkCards": 2, "networkCards": []any{card(0, 8), card(1, 8)}},
}

func oneCard(vcpus, memoryMiB, enis, ipv4 int) map[string]any {
	return map[string]any{"defaultVcpus": vcpus, "memorySize": memoryMiB, "maximumNetworkInterfaces": enis, "maximumIpv4AddressesPerInterface": ipv4,
		"defaultNetworkCardIndex": 0, "maximumNetworkCards": 1, "networkCards": []any{card(0, enis)}}
}

func card(index, enis int) map[string]any {
	return map[string]any{"index": index, "maximumInterfaces": enis, "baselineBandwidth": 0.0, "peakBandwidth": 0.0, "performance": ""}
}

// getInstanceType answers aws:ec2/getInstanceType; EC2 refuses a type it
// does not know (InvalidInstanceType).
func getInstanceType(args resource.PropertyMap) (resource.PropertyMap, error) {
	name := args["instanceType"].StringValue()
	spec, ok := instanceTypes[name]
	if !ok {
		return nil, fmt.Errorf("InvalidInstanceType: The following supplied instance types do not exist: [%s]", name)
	}
	out := map[string]any{"instanceType": name, "id": name}
	for k, v := range spec {
		out[k] = v
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// autonamedBucket is a BucketV2's state as pulumi-aws auto-names it: the
// logical name, a dash and seven random characters (here fixed), when no
// bucket name is given; the id is the name.
func autonamedBucket(args pulumi.MockResourceArgs) resource.PropertyMap {
	state := args.Inputs.Copy()
	if b, ok := state["bucket"]; !ok || !b.IsString() {
		state["bucket"] = resource.NewProperty(args.Name + "-1a2b3c4")
	}
	state["arn"] = resource.NewProperty("arn:aws:s3:::" + state["bucket"].StringValue())
	return state
}

// explicitEntries are the principals of the access entries an
// eks:index:Cluster is given (pulumi-eks's accessEntries input).
func explicitEntries(inputs resource.PropertyMap) []string {
	var arns []string
	if e := inputs["accessEntries"]; e.IsObject() {
		for _, entry := range e.ObjectValue() {
			if entry.IsObject() {
				arns = append(arns, entry.ObjectValue()["principalArn"].StringValue())
			}
		}
	}
	return arns
}

// testNow is the day the mocked program runs: no test depends on the day it
// is run (issue #27 item 6). It is after 1.34 left EKS standard support.
var testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func init() { now = func() time.Time { return testNow } }

// denied makes the mocked AWS refuse a function (its token) with
// AccessDenied, as it refuses a role without the permission; tests that set
// it restore it, mapping the token to the IAM action it needs. The engine
// hands a provider's error back to the program as "invocation of TOKEN
// returned an error: ..." (pulumi/pulumi pkg/resource/deploy/source_eval.go,
// resmon Invoke); it does not fail the update by itself.
var denied = map[string]string{}

func accessDenied(token, action string) error {
	return fmt.Errorf("invocation of %s returned an error: https response error StatusCode: 403, RequestID: 0f1e2d3c, "+
		"api error AccessDeniedException: User: %s is not authorized to perform: %s", token, caller, action)
}

// eksVersion is one Kubernetes version on EKS and its published dates.
type eksVersion struct {
	version, release, endOfStandard, endOfExtended string
}

// eksCalendar is EKS's release calendar as the mocked account sees it.
// 1.31 to 1.34: the EKS user guide's table "Amazon EKS Kubernetes release
// calendar" (awsdocs/amazon-eks-user-guide@0138560:latest/ug/versioning/kubernetes-versions.adoc).
// 1.35: released on EKS 2026-01-28 (kubernetes-versions-standard.adoc at
// 0e7fca3), its dates from endoflife.date/amazon-eks. 1.36 is offered by EKS
// ("Kubernetes 1.36 is now available in Amazon EKS", day2.md D8) but no
// source read dates it: its dates here are the 14 months of standard and 12
// of extended support the user guide gives every version, from 2026-06-02,
// the release date D8 reports from a third party. The tests need a version
// EKS offers beyond the program's fallback table, not its exact dates.
var eksCalendar = []eksVersion{
	{"1.31", "2024-09-26", "2025-11-26", "2026-11-26"},
	{"1.32", "2025-01-23", "2026-03-23", "2027-03-23"},
	{"1.33", "2025-05-29", "2026-07-29", "2027-07-29"},
	{"1.34", "2025-10-02", "2026-12-02", "2027-12-02"},
	{"1.35", "2026-01-28", "2027-03-27", "2028-03-27"},
	{"1.36", "2026-06-02", "2027-08-02", "2028-08-02"},
}

// getClusterVersions answers aws:eks/getClusterVersions as EKS would on the
// day at. The shape is terraform-provider-aws's aws_eks_cluster_versions
// (internal/service/eks/cluster_versions_data_source.go, the version
// pulumi-aws v6.83.4 bridges: inputs cluster_type, include_all,
// version_status; each cluster_versions entry's dates as
// timetypes.RFC3339), filled from EKS DescribeClusterVersions
// (https://docs.aws.amazon.com/eks/latest/APIReference/API_ClusterVersionInformation.html:
// versionStatus UNSUPPORTED | STANDARD_SUPPORT | EXTENDED_SUPPORT). EKS says
// a version is in extended support from the UTC day its standard support
// ends (kubernetes-versions.adoc). defaultPlatformVersion, defaultVersion
// and kubernetesPatchVersion are left out: the program reads none of them,
// and no source read gives them. The program asks for every version
// (includeAll); other inputs are not modelled and fail the test.
func getClusterVersions(t *testing.T, args resource.PropertyMap, at time.Time) resource.PropertyMap {
	t.Helper()
	if ct := args["clusterType"]; !ct.IsString() || ct.StringValue() != "eks" {
		t.Errorf("getClusterVersions: clusterType %v; the mock models only standard EKS clusters (\"eks\")", ct)
	}
	if all := args["includeAll"]; !all.IsBool() || !all.BoolValue() {
		t.Errorf("getClusterVersions: includeAll %v; the mock models only includeAll true", all)
	}
	for _, k := range []resource.PropertyKey{"versionStatus", "defaultOnly", "clusterVersionsOnlies"} {
		if v, ok := args[k]; ok && !v.IsNull() {
			t.Errorf("getClusterVersions: %s %v is not modelled", k, v)
		}
	}
	rfc3339 := func(day string) string { return day + "T00:00:00Z" }
	var versions []any
	for _, v := range eksCalendar {
		status := "STANDARD_SUPPORT"
		switch day := at.UTC().Format(time.DateOnly); {
		case day >= v.endOfExtended:
			status = "UNSUPPORTED"
		case day >= v.endOfStandard:
			status = "EXTENDED_SUPPORT"
		}
		versions = append(versions, map[string]any{
			"clusterType": "eks", "clusterVersion": v.version, "releaseDate": rfc3339(v.release),
			"endOfStandardSupportDate": rfc3339(v.endOfStandard), "endOfExtendedSupportDate": rfc3339(v.endOfExtended),
			"versionStatus": status,
		})
	}
	return resource.NewPropertyMapFromMap(map[string]any{
		"clusterType": "eks", "includeAll": true, "clusterVersions": versions, "id": "eks",
	})
}

// serviceQuota is one Service Quotas quota of the mocked account: its AWS
// default and, when the account had it raised, its applied value.
type serviceQuota struct {
	service, name string
	defaultValue  float64
	applied       float64 // 0: not raised
}

// serviceQuotas are the mocked account's quotas. Defaults: L-1216C47A 5
// vCPUs (AWS CLI User Guide, Service Quotas examples,
// get-aws-default-service-quota); L-34B43A08 5 vCPUs for a new account (EC2
// User Guide, "Spot Instance quotas", as issue #27 quotes it); L-0263D0A3 5
// (EC2 User Guide, Elastic IP address quota); L-F678F1CE 5 (Amazon VPC
// quotas). This account had its vCPU quotas raised, as one running prod
// (36 on-demand vCPUs at its maximum) must: tests that want a new
// account's defaults set applied to 0.
var serviceQuotas = map[string]*serviceQuota{
	"L-1216C47A": {"ec2", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 5, 64},
	"L-34B43A08": {"ec2", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests", 5, 64},
	"L-0263D0A3": {"ec2", "EC2-VPC Elastic IPs", 5, 0},
	"L-F678F1CE": {"vpc", "VPCs per Region", 5, 0},
}

// getServiceQuota answers aws:servicequotas/getServiceQuota as
// terraform-provider-aws's aws_servicequotas_service_quota reads it
// (internal/service/servicequotas/service_quota_data_source.go): the AWS
// default first (GetAWSDefaultServiceQuota, which fails for a code the
// service does not have), then the applied value where the account has one
// (GetServiceQuota; NoSuchResourceException leaves the default as value).
func getServiceQuota(args resource.PropertyMap, region string) (resource.PropertyMap, error) {
	service, code := args["serviceCode"].StringValue(), args["quotaCode"].StringValue()
	q, ok := serviceQuotas[code]
	if !ok || q.service != service {
		return nil, fmt.Errorf("getting Default Service Quota for (%s/%s): NoSuchResourceException: The request failed because the specified service quota does not exist", service, code)
	}
	arn, value := fmt.Sprintf("arn:aws:servicequotas:%s::%s/%s", region, service, code), q.defaultValue
	if q.applied != 0 {
		arn, value = fmt.Sprintf("arn:aws:servicequotas:%s:123456789012:%s/%s", region, service, code), q.applied
	}
	return resource.NewPropertyMapFromMap(map[string]any{
		"adjustable": true, "arn": arn, "defaultValue": q.defaultValue, "globalQuota": false, "id": arn,
		"quotaCode": code, "quotaName": q.name, "serviceCode": service, "serviceName": service, "usageMetrics": []any{}, "value": value,
	}), nil
}

// withQuota sets the mocked account's applied value of a quota for one test
// (0: not raised, the AWS default applies).
func withQuota(t *testing.T, code string, applied float64) {
	t.Helper()
	q := serviceQuotas[code]
	saved := q.applied
	q.applied = applied
	t.Cleanup(func() { q.applied = saved })
}
