// Package components holds the reusable Pulumi components of this project.
//
// LocustCluster deploys distributed Locust (one master, N workers) into any
// Kubernetes cluster reachable through a Kubernetes provider: EKS, kind,
// minikube or any conformant cluster. It knows nothing about AWS.
package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LocustClusterType is the Pulumi type token of the LocustCluster component.
const LocustClusterType = "locust-eks:index:LocustCluster"

// DefaultImage is the Locust image used when LocustClusterArgs.Image is empty.
// Master and workers always run the same image: Locust refuses workers whose
// version differs from the master's.
const DefaultImage = "locustio/locust:2.46.3"

// Ports Locust listens on. 5558 is not among them: it has been unused since
// Locust 0.10, and exposing it only invites confusion.
const (
	MasterPort = 5557 // workers connect to the master here (ZeroMQ)
	WebPort    = 8089 // web UI and its JSON API
)

// LocustfileMountPath is where the locustfile ConfigMap is mounted, read-only,
// in master and worker containers.
const LocustfileMountPath = "/mnt/locust"

// locustUID is the numeric id of the image's `locust` user. The image names
// its user, so runAsNonRoot cannot verify it without the number.
const locustUID = 1000

// ManagedEnvVars are the environment variables the component sets itself or
// that would override its arguments; LocustClusterArgs.Env must not set them.
var ManagedEnvVars = []string{
	"LOCUST_HOST",
	"LOCUST_LOCUSTFILE",
	"LOCUST_MODE_MASTER",
	"LOCUST_MODE_WORKER",
	"LOCUST_MASTER_NODE_HOST",
	"LOCUST_MASTER_NODE_PORT",
	"LOCUST_MASTER_BIND_HOST",
	"LOCUST_MASTER_BIND_PORT",
	"LOCUST_WEB_PORT",
	"LOCUST_WEB_HOST",
}

// EnvVar is one extra environment variable for the Locust containers. Value is
// an input so that it can come from another resource (a target's address, a
// secret output).
type EnvVar struct {
	Name  string
	Value pulumi.StringInput
}

// Resources are the CPU and memory requests and limits of one Locust role, as
// Kubernetes quantities ("500m", "1", "512Mi"). An empty limit sets none: a
// CPU limit on a single-threaded Locust process only adds CFS throttling,
// which shows up as client-side latency in the results.
type Resources struct {
	CPURequest    string
	CPULimit      string
	MemoryRequest string
	MemoryLimit   string
}

// DefaultMasterResources are the master's resources when none are given. The
// master aggregates statistics from every worker and serves the web UI.
var DefaultMasterResources = Resources{CPURequest: "1", MemoryRequest: "1Gi", MemoryLimit: "1Gi"}

// DefaultWorkerResources are a worker's resources when none are given: one
// Locust process uses at most one core (the GIL), so request exactly that.
var DefaultWorkerResources = Resources{CPURequest: "1", MemoryRequest: "1Gi", MemoryLimit: "1Gi"}

// LocustClusterArgs configures a LocustCluster.
type LocustClusterArgs struct {
	// Namespace to deploy into. Required.
	Namespace string
	// CreateNamespace creates Namespace; otherwise it must already exist.
	CreateNamespace bool
	// Locustfiles maps file names to their source. All of them are mounted,
	// so helper modules can sit next to the locustfiles that import them.
	Locustfiles map[string]string
	// Run lists the files of Locustfiles that Locust loads, in order.
	Run []string
	// TargetHost is the base URL under test (LOCUST_HOST). Required.
	TargetHost pulumi.StringInput
	// Image is the Locust image, pinned by tag or digest. Defaults to DefaultImage.
	Image string
	// Workers is the number of worker pods, one Locust process each. At least 1.
	Workers int
	// Env are extra environment variables for master and workers.
	Env []EnvVar
	// SecretEnv are environment variables whose values are secrets, such as
	// tokens for the target. They reach the pods through a Kubernetes Secret,
	// not the pod spec, and stay encrypted in Pulumi's state.
	SecretEnv []EnvVar
	// MasterResources and WorkerResources default to DefaultMasterResources
	// and DefaultWorkerResources.
	MasterResources *Resources
	WorkerResources *Resources
	// NodeSelector constrains master and worker pods to matching nodes.
	NodeSelector map[string]string
}

// LocustCluster is a distributed Locust deployment: locustfile ConfigMap,
// master Deployment and Service, worker Deployment.
type LocustCluster struct {
	pulumi.ResourceState

	// NamespaceResource is nil when the namespace already existed.
	NamespaceResource *corev1.Namespace
	Locustfiles       *corev1.ConfigMap
	// SecretEnv is nil when LocustClusterArgs.SecretEnv is empty.
	SecretEnv     *corev1.Secret
	Master        *appsv1.Deployment
	MasterService *corev1.Service
	Worker        *appsv1.Deployment

	// Namespace the cluster runs in.
	Namespace pulumi.StringOutput
	// MasterServiceName is the name of the master's ClusterIP Service.
	MasterServiceName pulumi.StringOutput
	// MasterAddress is the in-cluster DNS name workers use to reach the master.
	MasterAddress pulumi.StringOutput
	// PortForwardCommand opens the web UI on http://localhost:8089.
	PortForwardCommand pulumi.StringOutput
	// Workers is the number of worker pods.
	Workers pulumi.IntOutput
}

// dnsLabel is a Kubernetes DNS-1123 label, the rule for names of namespaces
// and Services.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// configMapKey is what Kubernetes accepts as a ConfigMap data key.
var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// envName is a portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxConfigMapBytes is the size limit Kubernetes puts on one ConfigMap.
const maxConfigMapBytes = 1 << 20

// NewLocustCluster creates the Locust master and workers on the Kubernetes
// cluster of the provider passed in opts (pulumi.Provider or pulumi.Providers).
func NewLocustCluster(ctx *pulumi.Context, name string, args *LocustClusterArgs, opts ...pulumi.ResourceOption) (*LocustCluster, error) {
	if args == nil {
		return nil, fmt.Errorf("LocustCluster %q: args are required", name)
	}
	spec, err := newClusterSpec(name, args)
	if err != nil {
		return nil, fmt.Errorf("LocustCluster %q: %w", name, err)
	}

	c := &LocustCluster{}
	if err := ctx.RegisterComponentResource(LocustClusterType, name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)

	namespace := pulumi.String(spec.namespace).ToStringOutput()
	if args.CreateNamespace {
		c.NamespaceResource, err = corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:   pulumi.String(spec.namespace),
				Labels: pulumi.ToStringMap(spec.labels("")),
			},
		}, child)
		if err != nil {
			return nil, err
		}
		namespace = c.NamespaceResource.Metadata.Name().Elem()
	}

	// No fixed name: the provider then replaces the ConfigMap under a new
	// name when a locustfile changes, so running pods keep the files they
	// started with until the Deployments roll them onto the new ConfigMap.
	c.Locustfiles, err = corev1.NewConfigMap(ctx, name+"-locustfiles", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Namespace: namespace,
			Labels:    pulumi.ToStringMap(spec.labels("")),
		},
		Data: pulumi.ToStringMap(args.Locustfiles),
	}, child)
	if err != nil {
		return nil, err
	}

	if len(args.SecretEnv) > 0 {
		data := pulumi.StringMap{}
		for _, e := range args.SecretEnv {
			data[e.Name] = e.Value
		}
		// Auto-named like the ConfigMap: a new value means a new Secret, and
		// the pods roll onto it.
		c.SecretEnv, err = corev1.NewSecret(ctx, name+"-env", &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Namespace: namespace,
				Labels:    pulumi.ToStringMap(spec.labels("")),
			},
			Type:       pulumi.String("Opaque"),
			StringData: pulumi.ToSecret(data).(pulumi.StringMapOutput),
		}, child)
		if err != nil {
			return nil, err
		}
	}

	c.MasterService, err = corev1.NewService(ctx, name+"-master", &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(spec.serviceName),
			Namespace: namespace,
			Labels:    pulumi.ToStringMap(spec.labels("master")),
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(spec.selector("master")),
			Ports: corev1.ServicePortArray{
				servicePort("master", MasterPort),
				servicePort("web", WebPort),
			},
		},
	}, child)
	if err != nil {
		return nil, err
	}
	masterAddress := pulumi.Sprintf("%s.%s.svc", c.MasterService.Metadata.Name().Elem(), namespace)

	c.Master, err = appsv1.NewDeployment(ctx, name+"-master", &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(name + "-master"),
			Namespace: namespace,
			Labels:    pulumi.ToStringMap(spec.labels("master")),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			// Two masters would split the workers between them.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(spec.selector("master"))},
			Template: spec.podTemplate("master", c.Locustfiles, c.SecretEnv, nil, &corev1.ContainerArgs{
				Args: pulumi.ToStringArray(spec.masterArgs()),
				Ports: corev1.ContainerPortArray{
					containerPort("master", MasterPort),
					containerPort("web", WebPort),
				},
				ReadinessProbe: &corev1.ProbeArgs{
					HttpGet: &corev1.HTTPGetActionArgs{
						Path: pulumi.String("/"),
						Port: pulumi.String("web"),
					},
					PeriodSeconds:    pulumi.Int(5),
					FailureThreshold: pulumi.Int(3),
				},
				Resources: spec.master.args(),
			}),
		},
	}, child)
	if err != nil {
		return nil, err
	}

	workerEnv := []corev1.EnvVarInput{
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_MASTER_NODE_HOST"), Value: masterAddress},
	}
	c.Worker, err = appsv1.NewDeployment(ctx, name+"-worker", &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(name + "-worker"),
			Namespace: namespace,
			Labels:    pulumi.ToStringMap(spec.labels("worker")),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(args.Workers),
			// A rollout (a new locustfile, image or env) replaces all workers
			// at once, as the master's Recreate does: a rolling update would
			// leave workers running the old locustfile beside new ones. The
			// restarted master discards the old workers anyway; they would
			// only linger until Locust's 60 s master-heartbeat timeout.
			// Scaling replicas is not a rollout and stops no worker.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(spec.selector("worker"))},
			Template: spec.podTemplate("worker", c.Locustfiles, c.SecretEnv, workerEnv, &corev1.ContainerArgs{
				Args:      pulumi.ToStringArray(spec.workerArgs()),
				Resources: spec.worker.args(),
			}),
		},
	}, child, pulumi.DependsOn([]pulumi.Resource{c.MasterService}))
	if err != nil {
		return nil, err
	}

	c.Namespace = namespace
	c.MasterServiceName = c.MasterService.Metadata.Name().Elem()
	c.MasterAddress = masterAddress
	c.PortForwardCommand = pulumi.Sprintf("kubectl port-forward --namespace %s service/%s %d:%d",
		namespace, c.MasterServiceName, WebPort, WebPort)
	c.Workers = pulumi.Int(args.Workers).ToIntOutput()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"namespace":          c.Namespace,
		"masterServiceName":  c.MasterServiceName,
		"masterAddress":      c.MasterAddress,
		"portForwardCommand": c.PortForwardCommand,
		"workers":            c.Workers,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// clusterSpec is the validated, defaulted form of LocustClusterArgs plus the
// values derived from it that more than one resource needs.
type clusterSpec struct {
	name         string
	namespace    string
	serviceName  string
	image        string
	run          []string
	checksum     string
	targetHost   pulumi.StringInput
	env          []EnvVar
	master       Resources
	worker       Resources
	nodeSelector map[string]string
}

func newClusterSpec(name string, args *LocustClusterArgs) (*clusterSpec, error) {
	s := &clusterSpec{
		name:         name,
		namespace:    args.Namespace,
		serviceName:  name + "-master",
		image:        args.Image,
		run:          args.Run,
		targetHost:   args.TargetHost,
		env:          args.Env,
		master:       DefaultMasterResources,
		worker:       DefaultWorkerResources,
		nodeSelector: args.NodeSelector,
	}
	if s.image == "" {
		s.image = DefaultImage
	}
	if args.MasterResources != nil {
		s.master = *args.MasterResources
	}
	if args.WorkerResources != nil {
		s.worker = *args.WorkerResources
	}

	// Kubernetes turns every Service in the namespace into environment
	// variables named after it; a Service called "locust-..." yields
	// LOCUST_* variables, which Locust reads as its own settings and
	// crashes on (LOCUST_WEB_PORT=tcp://...). Service links are disabled in
	// our pods, but other pods in the namespace would still get them.
	if !dnsLabel.MatchString(s.serviceName) || len(s.serviceName) > 63 {
		return nil, fmt.Errorf("name %q must be a DNS label (lower-case letters, digits, '-') of at most 56 characters", name)
	}
	if strings.HasPrefix(s.serviceName, "locust") {
		return nil, fmt.Errorf("name %q would name the master Service %q, which Kubernetes turns into LOCUST_* variables that Locust reads as its own settings; pick a name that does not start with \"locust\", such as \"loadtest\"", name, s.serviceName)
	}
	if !dnsLabel.MatchString(s.namespace) || len(s.namespace) > 63 {
		return nil, fmt.Errorf("namespace %q must be a DNS label (lower-case letters, digits, '-') of at most 63 characters", s.namespace)
	}
	if args.TargetHost == nil {
		return nil, fmt.Errorf("TargetHost is required")
	}
	if args.Workers < 1 {
		return nil, fmt.Errorf("Workers is %d; at least 1 is required", args.Workers)
	}
	if len(args.Run) == 0 {
		return nil, fmt.Errorf("Run must name at least one locustfile")
	}
	size := 0
	for file, source := range args.Locustfiles {
		if !configMapKey.MatchString(file) {
			return nil, fmt.Errorf("locustfile name %q is not a valid ConfigMap key", file)
		}
		size += len(file) + len(source)
	}
	if size > maxConfigMapBytes {
		return nil, fmt.Errorf("locustfiles add up to %d bytes; a ConfigMap holds at most %d", size, maxConfigMapBytes)
	}
	for _, file := range args.Run {
		if _, ok := args.Locustfiles[file]; !ok {
			return nil, fmt.Errorf("Run names %q, which is not in Locustfiles (%s)", file, strings.Join(sortedKeys(args.Locustfiles), ", "))
		}
	}
	seen := map[string]bool{}
	for _, e := range append(slices.Clone(args.Env), args.SecretEnv...) {
		switch {
		case !envName.MatchString(e.Name):
			return nil, fmt.Errorf("env var name %q is not a valid name", e.Name)
		case slices.Contains(ManagedEnvVars, e.Name):
			return nil, fmt.Errorf("env var %s is set by the component itself", e.Name)
		case seen[e.Name]:
			return nil, fmt.Errorf("env var %s is given twice", e.Name)
		}
		seen[e.Name] = true
	}
	s.checksum = checksum(args.Locustfiles)
	return s, nil
}

// checksum is a digest of every mounted file; it goes on the pod templates so
// that an edited locustfile rolls master and workers even where the ConfigMap
// is updated in place.
func checksum(files map[string]string) string {
	h := sha256.New()
	for _, name := range sortedKeys(files) {
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00", len(name), name, len(files[name]), files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// imageTag is the tag of the image reference, or "" for a digest-only one.
func (s *clusterSpec) imageTag() string {
	ref := s.image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

// selector labels identify one role's pods; they never change after
// creation, because a Deployment's selector is immutable.
func (s *clusterSpec) selector(role string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "locust",
		"app.kubernetes.io/instance":  s.name,
		"app.kubernetes.io/component": role,
	}
}

// labels are the standard app.kubernetes.io labels; role "" is for objects
// shared by both roles.
func (s *clusterSpec) labels(role string) map[string]string {
	l := map[string]string{
		"app.kubernetes.io/name":       "locust",
		"app.kubernetes.io/instance":   s.name,
		"app.kubernetes.io/managed-by": "pulumi",
		"app.kubernetes.io/part-of":    "locust-eks",
	}
	if role != "" {
		l["app.kubernetes.io/component"] = role
	}
	if tag := s.imageTag(); tag != "" && len(tag) <= 63 {
		l["app.kubernetes.io/version"] = tag
	}
	return l
}

// locustfileArg lists the files to load. A directory would make Locust import
// every file twice on a ConfigMap mount, once more through the `..data` link.
func (s *clusterSpec) locustfileArg() string {
	paths := make([]string, len(s.run))
	for i, f := range s.run {
		paths[i] = LocustfileMountPath + "/" + f
	}
	return "--locustfile=" + strings.Join(paths, ",")
}

func (s *clusterSpec) masterArgs() []string {
	return []string{
		"--master",
		fmt.Sprintf("--master-bind-port=%d", MasterPort),
		fmt.Sprintf("--web-port=%d", WebPort),
		s.locustfileArg(),
	}
}

// workerArgs leave the master's host to LOCUST_MASTER_NODE_HOST, which is an
// output of the Service and so cannot sit in a plain argument list.
func (s *clusterSpec) workerArgs() []string {
	return []string{
		"--worker",
		fmt.Sprintf("--master-port=%d", MasterPort),
		s.locustfileArg(),
	}
}

// podTemplate completes container for role and wraps it in a pod template
// that mounts files and, when secretEnv is not nil, takes its variables.
func (s *clusterSpec) podTemplate(role string, files *corev1.ConfigMap, secretEnv *corev1.Secret, roleEnv []corev1.EnvVarInput, container *corev1.ContainerArgs) *corev1.PodTemplateSpecArgs {
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_HOST"), Value: s.targetHost},
	}
	env = append(env, roleEnv...)
	for _, e := range s.env {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(e.Name), Value: e.Value})
	}

	container.Name = pulumi.String(role)
	container.Image = pulumi.String(s.image)
	// Spelled out rather than left to the image's entrypoint, so that the pod
	// spec alone says what runs (and tests can run it outside a cluster).
	container.Command = pulumi.ToStringArray([]string{"locust"})
	container.Env = env
	if secretEnv != nil {
		container.EnvFrom = corev1.EnvFromSourceArray{
			corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secretEnv.Metadata.Name()}},
		}
	}
	container.VolumeMounts = corev1.VolumeMountArray{
		corev1.VolumeMountArgs{Name: pulumi.String("locustfiles"), MountPath: pulumi.String(LocustfileMountPath), ReadOnly: pulumi.Bool(true)},
		corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
	}
	container.SecurityContext = &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
	}

	pod := &corev1.PodSpecArgs{
		// Service links would inject variables such as LOCUST_*_PORT=tcp://...
		// for every Service in the namespace; Locust parses those as flags.
		EnableServiceLinks:           pulumi.Bool(false),
		AutomountServiceAccountToken: pulumi.Bool(false),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(locustUID),
			RunAsGroup:     pulumi.Int(locustUID),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		NodeSelector: pulumi.ToStringMap(s.nodeSelector),
		Containers:   corev1.ContainerArray{container},
		Volumes: corev1.VolumeArray{
			corev1.VolumeArgs{
				Name: pulumi.String("locustfiles"),
				ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
					Name: files.Metadata.Name(),
				},
			},
			corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
		},
	}
	if role == "worker" {
		// Spread workers over nodes so that one node's CPU does not cap the
		// whole test; ScheduleAnyway keeps small clusters usable.
		pod.TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{
			corev1.TopologySpreadConstraintArgs{
				MaxSkew:           pulumi.Int(1),
				TopologyKey:       pulumi.String("kubernetes.io/hostname"),
				WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
				LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.selector("worker"))},
			},
		}
	}

	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Labels: pulumi.ToStringMap(s.labels(role)),
			Annotations: pulumi.StringMap{
				"locust-eks/locustfiles-sha256": pulumi.String(s.checksum),
			},
		},
		Spec: pod,
	}
}

func (r Resources) args() *corev1.ResourceRequirementsArgs {
	requests, limits := pulumi.StringMap{}, pulumi.StringMap{}
	put := func(m pulumi.StringMap, key, quantity string) {
		if quantity != "" {
			m[key] = pulumi.String(quantity)
		}
	}
	put(requests, "cpu", r.CPURequest)
	put(requests, "memory", r.MemoryRequest)
	put(limits, "cpu", r.CPULimit)
	put(limits, "memory", r.MemoryLimit)
	return &corev1.ResourceRequirementsArgs{Requests: requests, Limits: limits}
}

func servicePort(name string, port int) corev1.ServicePortInput {
	return corev1.ServicePortArgs{
		Name:       pulumi.String(name),
		Port:       pulumi.Int(port),
		TargetPort: pulumi.String(name),
		Protocol:   pulumi.String("TCP"),
	}
}

func containerPort(name string, port int) corev1.ContainerPortInput {
	return corev1.ContainerPortArgs{
		Name:          pulumi.String(name),
		ContainerPort: pulumi.Int(port),
		Protocol:      pulumi.String("TCP"),
	}
}
