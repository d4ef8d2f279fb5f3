package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The EKS half of the stack against what AWS and pulumi-eks do on a real
// `pulumi up`, as far as mocks can show it (docs/testing.md, "What the tests prove").

// withCaller runs f with sts:GetCallerIdentity answering arn.
func withCaller(t *testing.T, arn string) {
	old := caller
	caller = arn
	t.Cleanup(func() { caller = old })
}

func TestClusterAdmins(t *testing.T) {
	const (
		deploy  = "arn:aws:iam::123456789012:role/deploy"
		preview = "arn:aws:iam::123456789012:role/ci-preview"
		alice   = "arn:aws:iam::123456789012:user/alice"
	)
	for _, tc := range []struct {
		name, caller, creator string
		admins                []string
		wantEntries           []string // principals with an explicit access entry
		wantErr               string
		age                   time.Duration // of the cluster at the run's start; 0: created by the run
	}{
		{"creator listed among admins gets no second entry", "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-1", deploy, []string{deploy, preview}, []string{preview}, "", 0},
		{"creator with a role path, caller a session of it", "arn:aws:sts::123456789012:assumed-role/deploy/laptop", "arn:aws:iam::123456789012:role/platform/deploy", []string{preview}, []string{preview}, "", 0},
		{"a later run from CI keeps CI's entry", "arn:aws:sts::123456789012:assumed-role/ci-preview/run-9", alice, []string{preview}, []string{preview}, "", 0},
		{"first run from a laptop, nothing recorded", alice, "", []string{preview}, []string{preview}, "", 0},
		{"caller locked out", "arn:aws:sts::123456789012:assumed-role/stranger/x", deploy, []string{preview}, nil,
			"is neither clusterCreatorArn (arn:aws:iam::123456789012:role/deploy) nor in clusterAdminArns", 0},
		{"no creator recorded and the caller listed", alice, "", []string{alice, preview}, nil, "Set clusterCreatorArn", 0},
		{"no creator recorded, a stranger, the cluster exists", "arn:aws:sts::123456789012:assumed-role/stranger/x", "", []string{preview}, nil,
			"arn:aws:iam::123456789012:role/stranger, holds no access entry on cluster locust-eksCluster-1a2b3c, which exists since", 48 * time.Hour},
		// The remedy names both keys: listing the caller alone, with no
		// creator recorded, is the refusal above.
		{"no creator recorded, a stranger: the remedy", "arn:aws:sts::123456789012:assumed-role/stranger/x", "", []string{preview}, nil,
			"List it in clusterAdminArns and set clusterCreatorArn to the identity that created the cluster", 48 * time.Hour},
		{"no creator recorded, the cluster created by this run", "arn:aws:sts::123456789012:assumed-role/stranger/x", "", []string{preview}, []string{preview}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withCaller(t, tc.caller)
			if tc.age > 0 {
				// A cluster someone else created: its creator's entry only.
				a := newAWSAccount()
				a.createCluster("locust-eksCluster-1a2b3c", "arn:aws:iam::123456789012:role/someone-else", nil)
				a.elapse(tc.age)
				useAccount(t, a)
			}
			admins, _ := json.Marshal(tc.admins)
			s := run(t, "dev", map[string]string{"clusterAdminArns": string(admins), "clusterCreatorArn": tc.creator})
			if tc.wantErr != "" {
				if s.err == nil || !strings.Contains(s.err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", s.err, tc.wantErr)
				}
				// A cluster that exists is dated at preview: the Kubernetes
				// provider fails there, before any change.
				for _, r := range s.monitor.Resources() {
					if tc.age == 0 || strings.HasPrefix(r.Type, "kubernetes:") {
						t.Errorf("%s %s registered before the error; want none", r.Type, r.Name)
					}
				}
				return
			}
			if s.err != nil {
				t.Fatal(s.err)
			}
			entries, _ := s.get(t, "eks:index:Cluster", "locust").Object()["accessEntries"].(map[string]any)
			var got []string
			for _, e := range entries {
				got = append(got, e.(map[string]any)["principalArn"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.wantEntries, ",") {
				t.Errorf("access entries for %v, want %v", got, tc.wantEntries)
			}
		})
	}
}

// TestAccessEntriesFollowTheirPrincipal: pulumi-eks creates one
// aws.eks.AccessEntry per key of accessEntries, named "<cluster>-<key>"
// (createAccessEntries, nodejs/eks/cluster/authenticationMode.ts), and
// principal_arn cannot change in place. Reordering or shortening
// clusterAdminArns must leave every remaining principal under the same
// resource name with the same principal, or the replacement entry is
// created while the principal still has one, which EKS refuses.
func TestAccessEntriesFollowTheirPrincipal(t *testing.T) {
	const (
		a = "arn:aws:iam::123456789012:role/ci-preview"
		b = "arn:aws:iam::123456789012:user/alice"
		c = "arn:aws:iam::123456789012:role/platform/ops"
	)
	withCaller(t, "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-1")
	// The resource names pulumi-eks gives the entries, and each one's principal.
	entryNames := func(admins ...string) map[string]string {
		t.Helper()
		list, _ := json.Marshal(admins)
		s := mustRun(t, "dev", map[string]string{"clusterAdminArns": string(list), "clusterCreatorArn": "arn:aws:iam::123456789012:role/deploy"})
		entries, _ := s.get(t, "eks:index:Cluster", "locust").Object()["accessEntries"].(map[string]any)
		names := map[string]string{}
		for key, e := range entries {
			names["locust-"+key] = e.(map[string]any)["principalArn"].(string)
		}
		if len(names) != len(admins) {
			t.Fatalf("%d access entries for %d administrators: %v", len(names), len(admins), names)
		}
		return names
	}
	before := entryNames(a, b, c)
	for _, after := range []map[string]string{entryNames(c, a, b), entryNames(b, c), entryNames(c)} {
		for name, principal := range after {
			if before[name] != principal {
				t.Errorf("entry %s names %s, before %q: a remaining administrator's entry would be replaced", name, principal, before[name])
			}
		}
	}
}

// TestNodeGroupOutlivesItsPolicies: the node role's policy attachments must
// be created before the node group and deleted after it (the
// aws_eks_node_group docs), so the node group depends on them, as a resource
// and through the role ARN it is given.
func TestNodeGroupOutlivesItsPolicies(t *testing.T) {
	s := mustRun(t, "dev", nil)
	ng := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers")
	for i := range 3 {
		name := "locust-nodes-" + string(rune('0'+i))
		if !ng.DependsOn("aws:iam/rolePolicyAttachment:RolePolicyAttachment", name) {
			t.Errorf("node group does not depend on policy attachment %s: %v", name, ng.Dependencies)
		}
		found := false
		for _, urn := range ng.PropertyDependencies["nodeRoleArn"] {
			found = found || strings.HasSuffix(urn, "::"+name)
		}
		if !found {
			t.Errorf("nodeRoleArn does not come through attachment %s: %v", name, ng.PropertyDependencies["nodeRoleArn"])
		}
	}
}

// TestLocustWaitsForNodes: every Kubernetes object goes through the provider,
// which depends on the node group, so Deployments are created once nodes can
// join and deleted before the nodes go.
func TestLocustWaitsForNodes(t *testing.T) {
	s := mustRun(t, "dev", nil)
	p := s.get(t, "pulumi:providers:kubernetes", "locust")
	if !p.DependsOn("eks:index:ManagedNodeGroup", "locust-workers") {
		t.Errorf("the Kubernetes provider does not depend on the node group: %v", p.Dependencies)
	}
	assertKubernetesProvider(t, s, "locust")
}

// TestInstancesAndVolumesTagged: node-group tags do not reach the EC2
// instances and volumes; the launch template's tag specifications do.
func TestInstancesAndVolumesTagged(t *testing.T) {
	s := mustRun(t, "dev", map[string]string{"nodeDiskSize": "50"})
	lt := s.get(t, "aws:ec2/launchTemplate:LaunchTemplate", "locust-nodes").Object()
	specs := map[string]map[string]any{}
	for _, spec := range lt["tagSpecifications"].([]any) {
		m := spec.(map[string]any)
		specs[m["resourceType"].(string)] = m["tags"].(map[string]any)
	}
	for _, kind := range []string{"instance", "volume"} {
		if tags := specs[kind]; tags["project"] != "locust-eks" || tags["stack"] != "dev" {
			t.Errorf("%s tags %v, want project and stack", kind, tags)
		}
	}
	bdm := lt["blockDeviceMappings"].([]any)[0].(map[string]any)
	ebs := bdm["ebs"].(map[string]any)
	if bdm["deviceName"] != "/dev/xvda" || ebs["volumeSize"] != 50.0 || ebs["encrypted"] != "true" {
		t.Errorf("root volume %v", bdm)
	}
	ng := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers").Object()
	if _, set := ng["diskSize"]; set {
		t.Errorf("node group sets diskSize %v beside a launch template; EKS refuses both", ng["diskSize"])
	}
	tmpl, _ := ng["launchTemplate"].(map[string]any)
	if tmpl["id"] != "locust-nodes_id" || tmpl["version"] == nil {
		t.Errorf("node group launch template %v", tmpl)
	}
}

// TestNodesWaitForTheirWayOut: nodes in private subnets join the cluster
// and pull images through the NAT gateway; the node groups must be created
// after the private routes are associated, and deleted before them.
func TestNodesWaitForTheirWayOut(t *testing.T) {
	s := mustRun(t, "prod", nil)
	for _, name := range []string{"locust-system", "locust-workers"} {
		ng := s.get(t, "eks:index:ManagedNodeGroup", name)
		for i := range 3 {
			assoc := fmt.Sprintf("private-locust-%d", i)
			if !ng.DependsOn("aws:ec2/routeTableAssociation:RouteTableAssociation", assoc) {
				t.Errorf("node group %s does not wait for %s: %v", name, assoc, ng.Dependencies)
			}
		}
	}
}

// TestNodeGroupsFollowAndUpdate: both node groups carry the cluster's
// Kubernetes version (pulumi-eks sets none when a launch template is given:
// nodejs/eks/nodegroup.ts at v3.9.1), so a version bump reaches the nodes;
// updates go through the master's PodDisruptionBudget (forceUpdateVersion,
// aws_eks_node_group); the nodes' metadata service needs IMDSv2 tokens and
// answers no pod (hop limit 1, EC2 LaunchTemplateInstanceMetadataOptions).
func TestNodeGroupsFollowAndUpdate(t *testing.T) {
	for _, version := range []string{"1.34", "1.35"} {
		s := mustRun(t, "dev", map[string]string{"kubernetesVersion": version})
		if got := s.get(t, "eks:index:Cluster", "locust").Object()["version"]; got != version {
			t.Fatalf("cluster version %v, want %s", got, version)
		}
		for _, name := range []string{"locust-system", "locust-workers"} {
			ng := s.get(t, "eks:index:ManagedNodeGroup", name).Object()
			if ng["version"] != version {
				t.Errorf("kubernetesVersion %s: node group %s version %v, want the cluster's", version, name, ng["version"])
			}
			if ng["forceUpdateVersion"] != true {
				t.Errorf("node group %s forceUpdateVersion %v: updates would fail on the master's disruption budget", name, ng["forceUpdateVersion"])
			}
		}
		md, _ := s.get(t, "aws:ec2/launchTemplate:LaunchTemplate", "locust-nodes").Object()["metadataOptions"].(map[string]any)
		if md["httpTokens"] != "required" || md["httpPutResponseHopLimit"] != 1.0 || md["httpEndpoint"] != "enabled" {
			t.Errorf("launch template metadataOptions %v, want tokens required and hop limit 1", md)
		}
	}
}

// kubeconfigArgs returns the `aws` arguments of a kubeconfig's exec user.
func kubeconfigArgs(t *testing.T, kubeconfig string) string {
	t.Helper()
	var cfg struct {
		Users []struct {
			User struct {
				Exec struct {
					Command string   `json:"command"`
					Args    []string `json:"args"`
				} `json:"exec"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal([]byte(kubeconfig), &cfg); err != nil || len(cfg.Users) != 1 {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	return cfg.Users[0].User.Exec.Command + " " + strings.Join(cfg.Users[0].User.Exec.Args, " ")
}

// TestKubernetesAsTheAWSIdentity: the Kubernetes provider gets its token as
// the AWS provider authenticates, with aws:profile and aws:assumeRole.
func TestKubernetesAsTheAWSIdentity(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/deploy"
	for _, tc := range []struct {
		name           string
		set            map[string]string
		provider, user string
	}{
		{"default chain", nil,
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json",
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json"},
		{"aws:profile", map[string]string{"aws:profile": "loadtest"},
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json --profile loadtest",
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json"},
		{"aws:assumeRole", map[string]string{"aws:assumeRole": `{"roleArn":"` + role + `","sessionName":"pulumi"}`},
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json --role-arn " + role,
			"aws --region us-east-1 eks get-token --cluster-name locust-eksCluster-1a2b3c --output json --role-arn " + role},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustRun(t, "dev", tc.set)
			provider := s.get(t, "pulumi:providers:kubernetes", "locust").Inputs["kubeconfig"].SecretValue().Element.StringValue()
			if got := kubeconfigArgs(t, provider); got != tc.provider {
				t.Errorf("provider runs %q, want %q", got, tc.provider)
			}
			if got := kubeconfigArgs(t, s.outputs["kubeconfig"].(string)); got != tc.user {
				t.Errorf("kubeconfig output runs %q, want %q (no profile: the user's may be named differently)", got, tc.user)
			}
		})
	}
}

// TestUnreachableAPIFailsEarly: when this machine cannot reach the API
// endpoint, the run fails with a message naming publicAccessCidrs instead of
// every Kubernetes object timing out.
func TestUnreachableAPIFailsEarly(t *testing.T) {
	old := endpointCheck
	endpointCheck = func(string) error { return errors.New("dial tcp 203.0.113.9:443: i/o timeout") }
	t.Cleanup(func() { endpointCheck = old })
	s := run(t, "dev", map[string]string{"publicAccessCidrs": `["198.51.100.7/32"]`})
	if s.err == nil || !strings.Contains(s.err.Error(), "cannot be reached from this machine") || !strings.Contains(s.err.Error(), "publicAccessCidrs [198.51.100.7/32]") {
		t.Fatalf("error %v, want one naming the endpoint and publicAccessCidrs", s.err)
	}
	for _, r := range s.monitor.OfType("kubernetes:apps/v1:Deployment") {
		t.Errorf("Deployment %s registered although its provider could not be configured", r.Name)
	}
}

// TestTwoNodeGroups: the master and the cluster's own pods run on an
// on-demand group; the workers on their own tainted group, which only they
// tolerate, so a spot reclaim never takes the master and nothing else
// competes with the load generators for CPU.
func TestTwoNodeGroups(t *testing.T) {
	s := mustRun(t, "dev", nil)
	system := s.get(t, "eks:index:ManagedNodeGroup", "locust-system").Object()
	workers := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers").Object()
	if system["capacityType"] != "ON_DEMAND" || mustJSON(system["instanceTypes"]) != `["t3.medium"]` || system["taints"] != nil {
		t.Errorf("system node group %v %v taints %v; want on-demand t3.medium without taints", system["capacityType"], system["instanceTypes"], system["taints"])
	}
	if got := mustJSON(workers["taints"]); got != `[{"effect":"NO_SCHEDULE","key":"locust-eks/workers","value":"true"}]` {
		t.Errorf("worker node group taints %s", got)
	}
	for _, d := range s.monitor.OfType("kubernetes:apps/v1:Deployment") {
		spec := d.Object()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		pool, tolerations := spec["nodeSelector"].(map[string]any)["locust-eks/node-pool"], mustJSON(spec["tolerations"])
		switch d.Name {
		case "loadtest-master":
			if pool != "system" || spec["tolerations"] != nil {
				t.Errorf("master on pool %v with tolerations %s; want the system pool, none", pool, tolerations)
			}
		case "loadtest-worker":
			if pool != "workers" || tolerations != `[{"effect":"NoSchedule","key":"locust-eks/workers","operator":"Equal","value":"true"}]` {
				t.Errorf("workers on pool %v with tolerations %s", pool, tolerations)
			}
		}
	}
}

// TestNodePlan: the worker group is sized from the workers at preview, the
// plan is a stack output, and workers that cannot fit fail the preview
// naming the keys, with the numbers.
func TestNodePlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stack   string
		set     map[string]string
		desired float64
		err     string
	}{
		{"dev: two workers, one per large node", "dev", nil, 2, ""},
		{"dev: three workers, three nodes", "dev", map[string]string{"workers": "3"}, 3, ""},
		{"dev: twenty workers do not fit", "dev", map[string]string{"workers": "20"}, 0, "workers: 20 workers of 1000m CPU and 1024Mi need 20 c6i.large nodes (1 per node: 1780m CPU, 3114Mi for pods each), more than nodeMaxSize 3"},
		{"dev: twenty small workers fit", "dev", map[string]string{"workers": "20", "workerCpuRequest": "250m", "workerMemoryRequest": "256Mi", "workerMemoryLimit": "256Mi"}, 3, ""},
		{"prod: ten workers, three per xlarge", "prod", nil, 4, ""},
		{"an explicit size wins", "dev", map[string]string{"nodeDesiredSize": "3"}, 3, ""},
		{"an instance type EC2 does not know", "dev", map[string]string{"nodeInstanceTypes": `["c9z.large"]`}, 0, "looking up instance type c9z.large: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := run(t, tc.stack, tc.set)
			if tc.err != "" {
				if s.err == nil || !strings.Contains(s.err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", s.err, tc.err)
				}
				if n := len(s.monitor.Resources()); n != 0 {
					t.Errorf("%d resources registered before the error; want none", n)
				}
				return
			}
			if s.err != nil {
				t.Fatal(s.err)
			}
			sc := s.get(t, "eks:index:ManagedNodeGroup", "locust-workers").Object()["scalingConfig"].(map[string]any)
			if sc["desiredSize"] != tc.desired {
				t.Errorf("worker node group desired size %v, want %v", sc["desiredSize"], tc.desired)
			}
			plan, _ := s.outputs["nodePlan"].(map[string]any)
			if plan == nil || fmt.Sprint(plan["workers"].(map[string]any)["nodes"]) != fmt.Sprint(int(tc.desired)) || plan["system"].(map[string]any)["nodes"] == nil {
				t.Errorf("nodePlan output %v", s.outputs["nodePlan"])
			}
		})
	}
}

// TestNodePlanCountsTheDefaultNetworkCard: nodeadm counts the interfaces of
// the default network card, not EC2's total over all cards, for the max
// pods it reserves memory for: a c6in.32xlarge (two cards of 8) reserves
// 11 x 394 + 255 MiB, not 11 x 786 + 255.
func TestNodePlanCountsTheDefaultNetworkCard(t *testing.T) {
	withQuota(t, "L-34B43A08", 3*128) // dev's nodeMaxSize of 3 such nodes
	s := mustRun(t, "dev", map[string]string{"nodeInstanceTypes": `["c6in.32xlarge"]`})
	plan, _ := s.outputs["nodePlan"].(map[string]any)
	workers, _ := plan["workers"].(map[string]any)
	// 262144 x 0.925 - (11 x 394 + 255) - 100
	if got := fmt.Sprint(workers["memoryMiB"]); got != "237794" {
		t.Errorf("c6in.32xlarge memory for pods %s MiB, want 237794 (reserved for 394 pods)", got)
	}
	if got := fmt.Sprint(workers["podsPerNode"]); got == "" || workers["instanceType"] != "c6in.32xlarge" {
		t.Errorf("worker plan %v", workers)
	}
}

// TestResultsBucket: eks stacks keep load-test results in a private,
// encrypted, versioned bucket that expires them, and destroy keeps a bucket
// with results unless told otherwise.
func TestResultsBucket(t *testing.T) {
	s := mustRun(t, "dev", nil)
	b := s.get(t, "aws:s3/bucketV2:BucketV2", "results").Object()
	if b["forceDestroy"] != false || b["tags"].(map[string]any)["stack"] != "dev" {
		t.Errorf("bucket %v", b)
	}
	pab := s.get(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "results").Object()
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab[k] != true {
			t.Errorf("public access block %s = %v", k, pab[k])
		}
	}
	if got := mustJSON(s.get(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "results").Object()["rules"]); !strings.Contains(got, `"sseAlgorithm":"AES256"`) {
		t.Errorf("encryption rules %s", got)
	}
	if got := mustJSON(s.get(t, "aws:s3/bucketVersioningV2:BucketVersioningV2", "results").Object()["versioningConfiguration"]); got != `{"status":"Enabled"}` {
		t.Errorf("versioning %s", got)
	}
	lc := s.get(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "results")
	if got := mustJSON(lc.Object()["rules"]); !strings.Contains(got, `"expiration":{"days":90}`) || !strings.Contains(got, `"noncurrentDays":90`) {
		t.Errorf("lifecycle rules %s", got)
	}
	if !lc.DependsOn("aws:s3/bucketVersioningV2:BucketVersioningV2", "results") {
		t.Error("the lifecycle rule does not wait for versioning")
	}
	if s.outputs["resultsBucket"] != "results-1a2b3c4" {
		t.Errorf("resultsBucket output %v", s.outputs["resultsBucket"])
	}

	// Destroy without force keeps the bucket and every setting of it: none
	// is deleted, so none is stripped before the bucket fails BucketNotEmpty.
	parts := 0
	for _, r := range s.monitor.Resources() {
		if strings.HasPrefix(r.Type, "aws:s3/") {
			parts++
			if !r.RetainOnDelete {
				t.Errorf("%s %s is deleted by destroy; without force the results bucket keeps all its parts", r.Type, r.Name)
			}
		}
	}
	if parts != 6 {
		t.Errorf("%d S3 resources, want the bucket and its 5 settings", parts)
	}

	forced := mustRun(t, "dev", map[string]string{"resultsBucketForceDestroy": "true", "resultsBucketExpireDays": "0"})
	for _, r := range forced.monitor.Resources() {
		if strings.HasPrefix(r.Type, "aws:s3/") && r.RetainOnDelete {
			t.Errorf("%s %s is kept on destroy though resultsBucketForceDestroy is true", r.Type, r.Name)
		}
	}
	if b := forced.get(t, "aws:s3/bucketV2:BucketV2", "results").Object(); b["forceDestroy"] != true {
		t.Errorf("forceDestroy %v", b["forceDestroy"])
	}
	if got := mustJSON(forced.get(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "results").Object()["rules"]); strings.Contains(got, "expiration") {
		t.Errorf("expireDays 0 still expires: %s", got)
	}

	named := mustRun(t, "dev", map[string]string{"resultsBucket": "team-loadtests"})
	if named.count("aws:s3/bucketV2:BucketV2") != 0 || named.outputs["resultsBucket"] != "team-loadtests" {
		t.Errorf("a named bucket: %d created, output %v", named.count("aws:s3/bucketV2:BucketV2"), named.outputs["resultsBucket"])
	}
	local := mustRun(t, "local", nil)
	if _, ok := local.outputs["resultsBucket"]; ok || local.count("aws:s3/bucketV2:BucketV2") != 0 {
		t.Errorf("existing mode without resultsBucket: output %v", local.outputs["resultsBucket"])
	}
}

// TestServiceMonitorFromConfig: serviceMonitor adds the master's
// ServiceMonitor, labelled as serviceMonitorLabels say; off, there is none.
func TestServiceMonitorFromConfig(t *testing.T) {
	const typ = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
	withCaller(t, "arn:aws:sts::123456789012:assumed-role/deploy/gh-run-1")
	if n := mustRun(t, "dev", nil).count(typ); n != 0 {
		t.Errorf("%d ServiceMonitors with serviceMonitor off", n)
	}
	s := mustRun(t, "dev", map[string]string{"serviceMonitor": "true", "serviceMonitorLabels": `["release=prom"]`, "metricsNamespaces": `["monitoring"]`})
	if labels := s.get(t, typ, "loadtest-master").Object()["metadata"].(map[string]any)["labels"].(map[string]any); labels["release"] != "prom" {
		t.Errorf("ServiceMonitor labels %v, want release=prom", labels)
	}
}
