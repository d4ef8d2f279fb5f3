package components

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"
)

const locustfileDir = "../locustfiles"

// rendered is what one LocustCluster registered.
type rendered struct {
	monitor   *pulumimock.Monitor
	outputs   map[string]any
	master    k8sobject.Deployment
	worker    k8sobject.Deployment
	service   k8sobject.Service
	configMap k8sobject.ConfigMap
}

func (r rendered) container(role string) k8sobject.Container {
	d := map[string]k8sobject.Deployment{"master": r.master, "worker": r.worker}[role]
	return d.Spec.Template.Spec.Containers[0]
}

// testArgs are the arguments a stack would pass, with the shipped locustfiles.
func testArgs(t *testing.T) *LocustClusterArgs {
	t.Helper()
	files, err := ReadLocustfiles(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	return &LocustClusterArgs{
		Namespace:       "locust",
		CreateNamespace: true,
		Locustfiles:     files,
		Run:             []string{"quarkus_super_heroes.py"},
		TargetHost:      pulumi.String("http://rest-fights.heroes.svc"),
		Workers:         3,
	}
}

// deploy runs a program holding one Kubernetes provider and one LocustCluster.
func deploy(t *testing.T, name string, args *LocustClusterArgs) rendered {
	t.Helper()
	r := rendered{monitor: &pulumimock.Monitor{}, outputs: map[string]any{}}
	err := pulumimock.Run("project", "test", nil, nil, r.monitor, func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		c, err := NewLocustCluster(ctx, name, args, pulumi.Provider(provider))
		if err != nil {
			return err
		}
		for key, out := range map[string]pulumi.Output{
			"namespace": c.Namespace, "masterServiceName": c.MasterServiceName, "masterAddress": c.MasterAddress,
			"portForwardCommand": c.PortForwardCommand, "workers": c.Workers,
		} {
			if r.outputs[key], err = pulumimock.Await(ctx.Context(), out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	decode := func(typ, logical string, into any) {
		res, ok := r.monitor.Get(typ, logical)
		if !ok {
			t.Fatalf("no %s named %s", typ, logical)
		}
		if err := res.Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	decode("kubernetes:apps/v1:Deployment", name+"-master", &r.master)
	decode("kubernetes:apps/v1:Deployment", name+"-worker", &r.worker)
	decode("kubernetes:core/v1:Service", name+"-master", &r.service)
	decode("kubernetes:core/v1:ConfigMap", name+"-locustfiles", &r.configMap)
	return r
}

func TestResourceGraph(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))

	counts := map[string]int{}
	for _, res := range r.monitor.Resources() {
		counts[res.Type]++
	}
	want := map[string]int{
		"pulumi:providers:kubernetes":                   1,
		LocustClusterType:                               1,
		"kubernetes:core/v1:Namespace":                  1,
		"kubernetes:core/v1:ConfigMap":                  1,
		"kubernetes:core/v1:Service":                    1,
		"kubernetes:apps/v1:Deployment":                 2,
		"kubernetes:policy/v1:PodDisruptionBudget":      2,
		"kubernetes:networking.k8s.io/v1:NetworkPolicy": 2,
	}
	if !maps.Equal(counts, want) {
		t.Errorf("resource counts = %v, want %v", counts, want)
	}

	for _, res := range r.monitor.Resources() {
		if !strings.HasPrefix(res.Type, "kubernetes:") {
			continue
		}
		if res.ParentType() != LocustClusterType || res.ParentName() != "loadtest" {
			t.Errorf("%s %s: parent is %s %s, want the LocustCluster", res.Type, res.Name, res.ParentType(), res.ParentName())
		}
		if res.ProviderType() != "pulumi:providers:kubernetes" || res.ProviderName() != "k8s" {
			t.Errorf("%s %s: provider is %q, want the k8s provider passed to the component", res.Type, res.Name, res.Provider)
		}
	}
}

func TestMasterDeployment(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	m := r.master
	if m.Metadata.Namespace != "locust" {
		t.Errorf("namespace = %q", m.Metadata.Namespace)
	}
	if m.Spec.Replicas != 1 || m.Spec.Strategy.Type != "Recreate" {
		t.Errorf("replicas %d strategy %q, want 1 and Recreate", m.Spec.Replicas, m.Spec.Strategy.Type)
	}
	c := r.container("master")
	if !slices.Contains(c.Args, "--master") {
		t.Errorf("args %v lack --master", c.Args)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if !maps.Equal(ports, map[string]int{"master": 5557, "web": 8089, "metrics": 9646}) {
		t.Errorf("container ports = %v, want master 5557, web 8089 and metrics 9646 only", ports)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Port != "web" {
		t.Errorf("readiness probe = %+v, want an HTTP GET on the web port", c.ReadinessProbe)
	}
	if !maps.Equal(m.Spec.Selector.MatchLabels, map[string]string{
		"app.kubernetes.io/name": "locust", "app.kubernetes.io/instance": "loadtest", "app.kubernetes.io/component": "master",
	}) {
		t.Errorf("selector = %v", m.Spec.Selector.MatchLabels)
	}
}

func TestWorkersFindTheMaster(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	w := r.worker
	if w.Spec.Replicas != 3 || w.Spec.Strategy.Type != "Recreate" {
		t.Errorf("worker replicas %d strategy %q, want 3 and Recreate (no workers of an old locustfile beside new ones)", w.Spec.Replicas, w.Spec.Strategy.Type)
	}
	c := r.container("worker")
	if !slices.Contains(c.Args, "--worker") || slices.Contains(c.Args, "--master") {
		t.Errorf("worker args = %v", c.Args)
	}
	host, _ := c.EnvValue("LOCUST_MASTER_NODE_HOST")
	wantHost := r.service.Metadata.Name + ".locust.svc"
	if host != wantHost {
		t.Errorf("LOCUST_MASTER_NODE_HOST = %q, want the Service's DNS name %q", host, wantHost)
	}
	if r.outputs["masterAddress"] != wantHost {
		t.Errorf("masterAddress output = %v, want %s", r.outputs["masterAddress"], wantHost)
	}
	// The port the worker dials is the one the Service exposes and the
	// master listens on.
	var svcPort int
	for _, p := range r.service.Spec.Ports {
		if p.Name == "master" {
			svcPort = p.Port
		}
	}
	if !slices.Contains(c.Args, "--master-port=5557") || svcPort != 5557 || !slices.Contains(r.container("master").Args, "--master-bind-port=5557") {
		t.Errorf("worker args %v, service port %d, master args %v: all should say 5557", c.Args, svcPort, r.container("master").Args)
	}
	// The Service selects the master pods, and only them.
	for k, v := range r.service.Spec.Selector {
		if r.master.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match master pod labels %v", k, v, r.master.Spec.Template.Metadata.Labels)
		}
	}
	if r.service.Spec.Selector["app.kubernetes.io/component"] != "master" {
		t.Errorf("service selector %v would also pick workers", r.service.Spec.Selector)
	}
}

func TestService(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	s := r.service
	if s.Spec.Type != "ClusterIP" {
		t.Errorf("service type = %q, want ClusterIP", s.Spec.Type)
	}
	ports := map[string]int{}
	for _, p := range s.Spec.Ports {
		ports[p.Name] = p.Port
		if p.TargetPort != p.Name {
			t.Errorf("port %s targets %q, want the container port of the same name", p.Name, p.TargetPort)
		}
	}
	if !maps.Equal(ports, map[string]int{"master": 5557, "web": 8089, "metrics": 9646}) {
		t.Errorf("service ports = %v, want 5557, 8089 and 9646 only (5558 is unused since Locust 0.10)", ports)
	}
	if strings.HasPrefix(s.Metadata.Name, "locust") {
		t.Errorf("service name %q makes Kubernetes inject LOCUST_* variables", s.Metadata.Name)
	}
	if got := r.outputs["portForwardCommand"]; got != "kubectl port-forward --namespace locust service/loadtest-master 8089:8089" {
		t.Errorf("portForwardCommand = %v", got)
	}
	if r.outputs["namespace"] != "locust" || r.outputs["masterServiceName"] != "loadtest-master" || r.outputs["workers"] != 3 {
		t.Errorf("outputs = %v", r.outputs)
	}
}

func TestLocustfilesConfigMap(t *testing.T) {
	args := testArgs(t)
	args.Run = []string{"bookinfo.py", "cloud_carbon_footprint.py"}
	r := deploy(t, "loadtest", args)

	// The ConfigMap holds exactly the files on disk, and the worker plugin.
	entries, err := os.ReadDir(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(locustfileDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		onDisk[e.Name()] = string(b)
	}
	onDisk[WorkerPluginFile] = workerPlugin
	if !maps.Equal(r.configMap.Data, onDisk) {
		t.Errorf("ConfigMap data keys %v differ from locustfiles/ %v", slices.Sorted(maps.Keys(r.configMap.Data)), slices.Sorted(maps.Keys(onDisk)))
	}

	for _, role := range []string{"master", "worker"} {
		d := map[string]k8sobject.Deployment{"master": r.master, "worker": r.worker}[role]
		c := r.container(role)
		// Files are listed one by one: a directory makes Locust import each
		// twice. The worker plugin comes last.
		want := "--locustfile=/mnt/locust/bookinfo.py,/mnt/locust/cloud_carbon_footprint.py,/mnt/locust/locust_eks_worker.py"
		if !slices.Contains(c.Args, want) {
			t.Errorf("%s args %v lack %s", role, c.Args, want)
		}
		var mounted bool
		for _, m := range c.VolumeMounts {
			if m.MountPath == LocustfileMountPath {
				mounted = m.ReadOnly && m.Name == "locustfiles"
			}
		}
		if !mounted {
			t.Errorf("%s: locustfiles not mounted read-only at %s: %+v", role, LocustfileMountPath, c.VolumeMounts)
		}
		var volumeCM string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "locustfiles" && v.ConfigMap != nil {
				volumeCM = v.ConfigMap.Name
			}
		}
		if volumeCM == "" || volumeCM != r.configMap.Metadata.Name {
			t.Errorf("%s mounts ConfigMap %q, want %q", role, volumeCM, r.configMap.Metadata.Name)
		}
	}
}

func TestLocustfileEditRollsPods(t *testing.T) {
	before := deploy(t, "loadtest", testArgs(t))
	edited := testArgs(t)
	edited.Locustfiles["quarkus_super_heroes.py"] += "\n# one more line\n"
	after := deploy(t, "loadtest", edited)
	unrelated := testArgs(t)
	unrelated.Workers = 7
	scaled := deploy(t, "loadtest", unrelated)

	for _, role := range []string{"master", "worker"} {
		pick := func(r rendered) k8sobject.Deployment {
			return map[string]k8sobject.Deployment{"master": r.master, "worker": r.worker}[role]
		}
		a, b := pick(before).Spec.Template.Metadata.Annotations, pick(after).Spec.Template.Metadata.Annotations
		key := "locust-eks/locustfiles-sha256"
		if a[key] == "" || a[key] == b[key] {
			t.Errorf("%s pod template annotation %s: before %q, after edit %q; want a change", role, key, a[key], b[key])
		}
		if c := pick(scaled).Spec.Template.Metadata.Annotations[key]; c != a[key] {
			t.Errorf("%s: scaling workers changed the locustfile checksum (%s -> %s)", role, a[key], c)
		}
	}
	if before.configMap.Metadata.Name == after.configMap.Metadata.Name {
		t.Errorf("ConfigMap name %q unchanged by an edit: the provider would update it in place", before.configMap.Metadata.Name)
	}
}

func TestPodSecurity(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	for _, role := range []string{"master", "worker"} {
		d := map[string]k8sobject.Deployment{"master": r.master, "worker": r.worker}[role]
		p := d.Spec.Template.Spec
		sc := p.SecurityContext
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 1000 || sc.RunAsGroup == nil || *sc.RunAsGroup != 1000 {
			t.Errorf("%s pod security context %+v, want non-root uid/gid 1000", role, sc)
		}
		if sc.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("%s seccomp = %q", role, sc.SeccompProfile.Type)
		}
		if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
			t.Errorf("%s mounts a service account token", role)
		}
		if p.EnableServiceLinks == nil || *p.EnableServiceLinks {
			t.Errorf("%s has service links enabled", role)
		}
		c := p.Containers[0]
		csc := c.SecurityContext
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Errorf("%s allows privilege escalation", role)
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Errorf("%s root filesystem is writable", role)
		}
		if !slices.Equal(csc.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("%s drops capabilities %v, want ALL", role, csc.Capabilities.Drop)
		}
		for _, label := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"} {
			if d.Spec.Template.Metadata.Labels[label] == "" || d.Metadata.Labels[label] == "" {
				t.Errorf("%s lacks label %s", role, label)
			}
		}
	}
}

func TestImageEnvAndResources(t *testing.T) {
	args := testArgs(t)
	args.Env = []EnvVar{{Name: "API_TOKEN", Value: pulumi.String("s3cret")}}
	args.NodeSelector = map[string]string{"pool": "locust"}
	r := deploy(t, "loadtest", args)
	for _, role := range []string{"master", "worker"} {
		c := r.container(role)
		if c.Image != DefaultImage || DefaultImage != "locustio/locust:2.46.7" {
			t.Errorf("%s image = %q, want %s", role, c.Image, DefaultImage)
		}
		if v, _ := c.EnvValue("LOCUST_HOST"); v != "http://rest-fights.heroes.svc" {
			t.Errorf("%s LOCUST_HOST = %q", role, v)
		}
		if v, _ := c.EnvValue("API_TOKEN"); v != "s3cret" {
			t.Errorf("%s API_TOKEN = %q", role, v)
		}
		// 3 workers: the master's sized floor (mastersize.go).
		want := map[string]Resources{"master": {CPURequest: "250m", MemoryRequest: "512Mi", MemoryLimit: "1Gi"}, "worker": DefaultWorkerResources}[role]
		if c.Resources.Requests["cpu"] != want.CPURequest || c.Resources.Requests["memory"] != want.MemoryRequest ||
			c.Resources.Limits["memory"] != want.MemoryLimit {
			t.Errorf("%s resources = %+v, want %+v", role, c.Resources, want)
		}
		if _, ok := c.Resources.Limits["cpu"]; ok {
			t.Errorf("%s has a CPU limit by default; it would throttle", role)
		}
		d := map[string]k8sobject.Deployment{"master": r.master, "worker": r.worker}[role]
		if d.Spec.Template.Spec.NodeSelector["pool"] != "locust" {
			t.Errorf("%s node selector = %v", role, d.Spec.Template.Spec.NodeSelector)
		}
	}
	if len(r.worker.Spec.Template.Spec.TopologySpreadConstraints) != 1 {
		t.Errorf("workers are not spread over nodes")
	}
}

func TestSecretEnv(t *testing.T) {
	plain := deploy(t, "loadtest", testArgs(t))
	if n := len(plain.monitor.OfType("kubernetes:core/v1:Secret")); n != 0 {
		t.Errorf("%d Secrets without SecretEnv", n)
	}
	if got := plain.container("worker").EnvFrom; len(got) != 0 {
		t.Errorf("envFrom %v without SecretEnv", got)
	}

	withSecret := func(token string) rendered {
		args := testArgs(t)
		args.SecretEnv = []EnvVar{{Name: "API_TOKEN", Value: pulumi.ToSecret(pulumi.String(token)).(pulumi.StringOutput)}}
		return deploy(t, "loadtest", args)
	}
	r := withSecret("s3cr3t")
	secret, ok := r.monitor.Get("kubernetes:core/v1:Secret", "loadtest-env")
	if !ok {
		t.Fatal("no Secret loadtest-env")
	}
	data := secret.Inputs["stringData"]
	if !data.IsSecret() || data.SecretValue().Element.ObjectValue()["API_TOKEN"].StringValue() != "s3cr3t" {
		t.Errorf("Secret stringData = %v, want API_TOKEN, marked secret in Pulumi's state", data)
	}
	if secret.ParentName() != "loadtest" || secret.ProviderName() != "k8s" {
		t.Errorf("Secret parent %s provider %s", secret.ParentName(), secret.ProviderName())
	}
	var meta struct {
		Metadata k8sobject.ObjectMeta `json:"metadata"`
	}
	if err := secret.Decode(&meta); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"master", "worker"} {
		c := r.container(role)
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != meta.Metadata.Name {
			t.Errorf("%s envFrom %+v, want the Secret %s", role, c.EnvFrom, meta.Metadata.Name)
		}
		if _, inSpec := c.EnvValue("API_TOKEN"); inSpec {
			t.Errorf("%s carries API_TOKEN in its pod spec", role)
		}
	}

	// A new token is a new Secret, so the pods roll onto it.
	rotated := withSecret("n3w")
	other, _ := rotated.monitor.Get("kubernetes:core/v1:Secret", "loadtest-env")
	var otherMeta struct {
		Metadata k8sobject.ObjectMeta `json:"metadata"`
	}
	if err := other.Decode(&otherMeta); err != nil {
		t.Fatal(err)
	}
	if otherMeta.Metadata.Name == meta.Metadata.Name || rotated.container("worker").EnvFrom[0].SecretRef.Name != otherMeta.Metadata.Name {
		t.Errorf("rotating the token kept Secret %s; the pods would not roll", meta.Metadata.Name)
	}
}

func TestExistingNamespace(t *testing.T) {
	args := testArgs(t)
	args.Namespace, args.CreateNamespace = "team-perf", false
	r := deploy(t, "loadtest", args)
	if got := r.monitor.OfType("kubernetes:core/v1:Namespace"); len(got) != 0 {
		t.Errorf("created %d namespaces in existing-namespace mode", len(got))
	}
	for _, ns := range []string{r.master.Metadata.Namespace, r.worker.Metadata.Namespace, r.service.Metadata.Namespace, r.configMap.Metadata.Namespace} {
		if ns != "team-perf" {
			t.Errorf("object in namespace %q, want team-perf", ns)
		}
	}
}

func TestInvalidArgs(t *testing.T) {
	tests := []struct {
		name   string
		cname  string
		modify func(*LocustClusterArgs)
		want   string
	}{
		{"service name injecting LOCUST_ variables", "locust", func(a *LocustClusterArgs) {}, `does not start with "locust"`},
		{"no workers", "loadtest", func(a *LocustClusterArgs) { a.Workers = 0 }, "at least 1"},
		{"run names a missing file", "loadtest", func(a *LocustClusterArgs) { a.Run = []string{"shop.py"} }, `"shop.py", which is not in Locustfiles`},
		{"nothing to run", "loadtest", func(a *LocustClusterArgs) { a.Run = nil }, "at least one locustfile"},
		{"no target", "loadtest", func(a *LocustClusterArgs) { a.TargetHost = nil }, "TargetHost is required"},
		{"bad namespace", "loadtest", func(a *LocustClusterArgs) { a.Namespace = "Perf" }, "RFC 1123 label"},
		{"name starting with a digit makes a bad Service name", "1test", func(a *LocustClusterArgs) {}, `Service name "1test-master"`},
		{"name too long for a Service", strings.Repeat("a", 57), func(a *LocustClusterArgs) {}, "no more than 63 characters"},
		// The ConfigMap volume keeps its own ..data link beside the files.
		{"locustfile named ..data", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles["..data"] = "" }, "must not start with '..'"},
		{"locustfile named .", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles["."] = "" }, "must not be '.'"},
		{"locustfile named ..", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles[".."] = "" }, "must not be '..'"},
		{"secret env name too long for a Secret key", "loadtest", func(a *LocustClusterArgs) {
			a.SecretEnv = []EnvVar{{strings.Repeat("T", 254), pulumi.String("y")}}
		}, "no more than 253 characters"},
		{"env name with a space", "loadtest", func(a *LocustClusterArgs) { a.Env = []EnvVar{{"MY VAR", pulumi.String("x")}} }, "valid environment variable name"},
		{"node selector key not a qualified name", "loadtest", func(a *LocustClusterArgs) { a.NodeSelector = map[string]string{"bad key": "x"} }, "node selector bad key=x"},
		{"node selector value not a label value", "loadtest", func(a *LocustClusterArgs) { a.NodeSelector = map[string]string{"pool": "-x"} }, "value: a valid label must"},
		{"image unpinned", "loadtest", func(a *LocustClusterArgs) { a.Image = "locustio/locust" }, "no tag or digest"},
		{"image latest", "loadtest", func(a *LocustClusterArgs) { a.Image = "locustio/locust:latest" }, "moving tag latest"},
		{"image not a reference", "loadtest", func(a *LocustClusterArgs) { a.Image = "Locustio/Locust:2" }, "must be lowercase"},
		{"cpu request not a quantity", "loadtest", func(a *LocustClusterArgs) { a.WorkerResources = &Resources{CPURequest: "1 core"} }, `worker resources: cpu request "1 core"`},
		{"memory limit below request", "loadtest", func(a *LocustClusterArgs) {
			a.MasterResources = &Resources{MemoryRequest: "1Gi", MemoryLimit: "512Mi"}
		}, "memory limit 512Mi is below the request 1Gi"},
		{"secret env var also plain", "loadtest", func(a *LocustClusterArgs) {
			a.Env = []EnvVar{{"TOKEN", pulumi.String("x")}}
			a.SecretEnv = []EnvVar{{"TOKEN", pulumi.String("y")}}
		}, "TOKEN is given twice"},
		{"managed env var", "loadtest", func(a *LocustClusterArgs) { a.Env = []EnvVar{{"LOCUST_HOST", pulumi.String("x")}} }, "set by the component"},
		{"Locust setting that breaks the workers", "loadtest", func(a *LocustClusterArgs) { a.Env = []EnvVar{{"LOCUST_PROCESSES", pulumi.String("4")}} }, "refused: Locust refuses it with --master"},
		{"secret Locust setting that breaks the command", "loadtest", func(a *LocustClusterArgs) {
			a.SecretEnv = []EnvVar{{"LOCUST_WEB_LOGIN", pulumi.String("true")}}
		}, "refused: without the credentials and login code the stack's webLogin brings"},
		{"the web login's own variable", "loadtest", func(a *LocustClusterArgs) {
			a.Env = []EnvVar{{"LOCUST_EKS_WEB_PASSWORD", pulumi.String("x")}}
		}, "set by the component itself"},
		{"file name not a ConfigMap key", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles["sub/dir.py"] = "" }, "not a valid ConfigMap key"},
		{"locustfile named as the worker plugin", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles[WorkerPluginFile] = "" }, "the component's own"},
		{"too large for a ConfigMap", "loadtest", func(a *LocustClusterArgs) { a.Locustfiles["big.csv"] = strings.Repeat("x", 1<<20) }, "at most 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := testArgs(t)
			tt.modify(args)
			m := &pulumimock.Monitor{}
			err := pulumimock.Run("project", "test", nil, nil, m, func(ctx *pulumi.Context) error {
				_, err := NewLocustCluster(ctx, tt.cname, args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources registered before the error; want none", n)
			}
		})
	}
}

// TestVersionLabel: the image tag becomes the app.kubernetes.io/version label
// only when the API server would accept it as a label value. A registry takes
// tags of 128 characters ending in '-' or '.', a label value does not.
func TestVersionLabel(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct{ image, want string }{
		{"locustio/locust:2.46.3", "2.46.3"},
		{"locustio/locust:2.46.3-", ""},
		{"0:0.", ""},
		{"registry.example.com:5000/team/locust:" + strings.Repeat("v", 64), ""},
		{"locustio/locust" + digest, ""},
		{"locustio/locust:2.46.3" + digest, "2.46.3"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			args := testArgs(t)
			args.Image = tc.image
			r := deploy(t, "loadtest", args)
			for _, labels := range []map[string]string{r.master.Metadata.Labels, r.worker.Metadata.Labels, r.service.Metadata.Labels, r.configMap.Metadata.Labels} {
				if got := labels["app.kubernetes.io/version"]; got != tc.want {
					t.Errorf("version label %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// FuzzClusterSpec: whatever LocustClusterArgs hold, newClusterSpec never
// panics, and what it accepts yields names and labels that the API server's
// own validators accept.
func FuzzClusterSpec(f *testing.F) {
	f.Add("loadtest", "locust", "locustio/locust:2.46.3", "bookinfo.py", "API_TOKEN", "pool", "locust")
	f.Add("1test", "Perf", "locustio/locust:2.46.3-", "..data", "MY VAR", "bad key", "-x")
	f.Add("a", "a", "0:0.", ".", "A", "example.com/pool", "")
	f.Add(strings.Repeat("a", 56), strings.Repeat("n", 63), "locustio/locust@sha256:"+strings.Repeat("a", 64), "x.py", strings.Repeat("T", 254), "k", strings.Repeat("v", 63))
	f.Fuzz(func(t *testing.T, name, namespace, image, file, env, selKey, selValue string) {
		args := &LocustClusterArgs{
			Namespace:    namespace,
			Locustfiles:  map[string]string{file: "from locust import User"},
			Run:          []string{file},
			TargetHost:   pulumi.String("http://target"),
			Image:        image,
			Workers:      1,
			SecretEnv:    []EnvVar{{env, pulumi.String("s")}},
			NodeSelector: map[string]string{selKey: selValue},
		}
		s, err := newClusterSpec(name, args)
		if err != nil {
			return
		}
		for _, role := range []string{"", "master", "worker"} {
			for k, v := range s.labels(role) {
				if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
					t.Errorf("accepted image %q, name %q: label %s=%s is invalid: %v", image, name, k, v, errs)
				}
			}
		}
		for _, n := range []string{s.serviceName, name + "-worker"} {
			if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
				t.Errorf("accepted name %q: object name %q is invalid: %v", name, n, errs)
			}
		}
		if errs := validation.IsDNS1035Label(s.serviceName); len(errs) > 0 {
			t.Errorf("accepted name %q: Service name %q is invalid: %v", name, s.serviceName, errs)
		}
	})
}
