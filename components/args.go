package components

import (
	_ "embed"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LocustClusterType is the Pulumi type token of the LocustCluster component.
const LocustClusterType = "locust-eks:index:LocustCluster"

// DefaultImage is the Locust image used when LocustClusterArgs.Image is empty.
// Master and workers always run the same image: Locust refuses workers whose
// version differs from the master's.
const DefaultImage = "locustio/locust:2.46.7"

// Ports Locust listens on. 5558 is not among them: it has been unused since
// Locust 0.10, and exposing it only invites confusion.
const (
	MasterPort = 5557 // workers connect to the master here (ZeroMQ)
	WebPort    = 8089 // web UI and its JSON API
)

// LocustfileMountPath is where the locustfile ConfigMap is mounted, read-only,
// in master and worker containers.
const LocustfileMountPath = "/mnt/locust"

// WorkerPluginFile is the file the component mounts beside the locustfiles
// and loads after them: when Kubernetes stops a worker (SIGTERM), it sends
// the master the samples since its last report before quitting, which
// Locust itself does not. A locustfile may not take this name.
const WorkerPluginFile = "locust_eks_worker.py"

//go:embed locust_eks_worker.py
var workerPlugin string

// StopTimeout is how long, in seconds, Locust lets running tasks finish when
// a test stops; pods get this much more than the default grace period
// before Kubernetes kills them, so a stopping worker can finish and report.
const StopTimeout = 10

// terminationGracePeriodSeconds is Kubernetes' default 30 s plus StopTimeout.
const terminationGracePeriodSeconds = 30 + StopTimeout

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
	// Locust's command line wins over its environment, so a value here
	// would be ignored; the pods' grace period is sized from StopTimeout.
	"LOCUST_STOP_TIMEOUT",
}

// PluginEnvVars are the component's own variables, which its plugin reads
// (the web login's credentials, WebLogin); Env must not set them either.
var PluginEnvVars = []string{"LOCUST_EKS_WEB_USERNAME", "LOCUST_EKS_WEB_PASSWORD"}

// RefusedEnvVars are the Locust settings that LocustClusterArgs.Env must not
// set, each with the reason, because they break the cluster, the probes or
// cmd/loadtest. Locust reads an option from the environment variable named
// by env_var in its argument parser (locust/argument_parser.py at 2.12.1,
// 2.24.0 and 2.46.3); every other LOCUST_* setting there is allowed
// (LOCUST_TAGS, LOCUST_EXCLUDE_TAGS, LOCUST_RESET_STATS, LOCUST_LOGLEVEL,
// LOCUST_CONFIG_USERS, LOCUST_EXIT_CODE_ON_ERROR, LOCUST_USER_CLASSES...).
var RefusedEnvVars = map[string]string{
	// main.py@2.46.3:206-255: refused with --master; on a worker the
	// parent only waits for its forked children and installs no SIGTERM
	// handler, which PID 1 needs.
	"LOCUST_PROCESSES": "Locust refuses it with --master, and on a worker PID 1 becomes a parent that ignores SIGTERM, so its forked workers are killed without sending their last samples; set more workers instead",
	"LOCUST_HEADLESS":  "the master would start a test at once and serve no web UI, which the probes and cmd/loadtest use",
	"LOCUST_AUTOSTART": "the master would start a test each time its pod starts; start tests with cmd/loadtest or the web UI",
	"LOCUST_AUTOQUIT":  "it ends the master after an autostarted test, and Kubernetes restarts it; start tests with cmd/loadtest or the web UI",
	// argument_parser.py: -u, -r and -t are "only used together with
	// --headless or --autostart".
	"LOCUST_USERS":         "Locust reads it only with --headless or --autostart; give cmd/loadtest --users (or use the web UI form)",
	"LOCUST_SPAWN_RATE":    "Locust reads it only with --headless or --autostart; give cmd/loadtest --spawn-rate (or use the web UI form)",
	"LOCUST_HATCH_RATE":    "it is the old name of LOCUST_SPAWN_RATE, which Locust reads only with --headless or --autostart; give cmd/loadtest --spawn-rate",
	"LOCUST_RUN_TIME":      "Locust reads it only with --headless or --autostart; give cmd/loadtest --run-time (or use the web UI form)",
	"LOCUST_WEB_LOGIN":     "without the credentials and login code the stack's webLogin brings, no one could log in; set webLogin",
	"LOCUST_WEB_AUTH":      "basic auth would refuse the probes and cmd/loadtest",
	"LOCUST_WEB_BASE_PATH": "the web UI would move off /, where the probes and cmd/loadtest find it",
	"LOCUST_TLS_CERT":      "the web UI would speak only HTTPS, which the probes and cmd/loadtest do not, from a file the pods do not have",
	"LOCUST_TLS_KEY":       "the web UI would speak only HTTPS, which the probes and cmd/loadtest do not, from a file the pods do not have",
	// web.py /swarm with the picker on: no user_classes in the form runs
	// every class, and no shape_class ("Default") drops the shape.
	"LOCUST_USERCLASS_PICKER": "a test cmd/loadtest starts would run every User class and drop the locustfile's LoadTestShape",
	"LOCUST_BUILD_PATH":       "the web UI would be served from a folder the pods do not have",
	// 2.2x switches to the old web UI; from 2.3x Locust exits on it.
	"LOCUST_LEGACY_UI": "current Locust refuses to start with it (the old web UI is gone)",
	// The containers' root filesystem is read-only, and a pod's files go
	// with the pod.
	"LOCUST_CSV":              "the pods' filesystem is read-only and lost with the pod; cmd/loadtest saves the CSV files",
	"LOCUST_CSV_FULL_HISTORY": "the pods' filesystem is read-only and lost with the pod; cmd/loadtest saves the CSV files",
	"LOCUST_HTML":             "the pods' filesystem is read-only and lost with the pod; cmd/loadtest saves the HTML report",
	"LOCUST_LOGFILE":          "logs would leave standard output, where kubectl logs finds them, for the pods' read-only filesystem",
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
	// Workers is the number of worker pods, one Locust process each, across
	// all shards (ShardWorkers says how they are split). At least one per
	// shard.
	Workers int
	// Shards is the number of masters, each with its own worker Deployment
	// and master Service; 0 is 1. One master holds a measured number of
	// workers (docs/performance.md, "How many workers one master holds"),
	// so more load than that takes more masters, which cmd/loadtest drives
	// as one test. Shard 0 is named as a one-master cluster always was;
	// shard i's objects are <name>-<i>-master and <name>-<i>-worker, its
	// pods' app.kubernetes.io/instance <name>-<i>. The namespace, the
	// ConfigMap, the Secrets, the NetworkPolicies and the ServiceMonitor
	// are shared. The web UI exposure shows one master, so it takes one
	// shard.
	Shards int
	// Env are extra environment variables for master and workers.
	Env []EnvVar
	// SecretEnv are environment variables whose values are secrets, such as
	// tokens for the target. They reach the pods through a Kubernetes Secret,
	// not the pod spec, and stay encrypted in Pulumi's state.
	SecretEnv []EnvVar
	// WebLogin, when set, puts the master's web UI behind a login with
	// these credentials: Locust's --web-login (2.21 and later), with the
	// login code in the plugin the pods load. Every route that starts,
	// stops or reads a test then needs the session; the probes still pass
	// (a redirect counts). /metrics is on the metrics port, outside the
	// login, open to the NetworkPolicy's namespaces only.
	WebLogin *WebLogin
	// WebExposure, when set, opens the web UI at an address beyond the
	// port-forward: a load balancer or an Ingress. It needs WebLogin.
	WebExposure *WebExposure
	// MasterResources are every shard's master's; nil sizes each by
	// MasterResourcesFor(its workers), what a master was measured to need.
	// ShardMasterResources, when not empty, holds one per shard, shard 0
	// first, and wins over MasterResources: a stack sizes each master from
	// its own workers where the user left a request empty.
	// WorkerResources default to DefaultWorkerResources.
	MasterResources      *Resources
	ShardMasterResources []Resources
	WorkerResources      *Resources
	// NodeSelector constrains master and worker pods to matching nodes.
	NodeSelector map[string]string
	// Master and Worker place each role's pods: node labels on top of
	// NodeSelector (a role's own value wins for a key both set), and
	// tolerations, such as for a node pool tainted for workers only.
	Master, Worker Placement
	// EgressCIDRs, when not empty, are the only addresses the pods may open
	// connections to (besides the master, for workers, and cluster DNS).
	// Empty leaves egress open: the workers must reach the target.
	EgressCIDRs []string
	// MetricsNamespaces are the namespaces whose pods (Prometheus) may reach
	// the master's metrics port (MetricsPort), where the component's plugin
	// serves /metrics; without a ServiceMonitor, and unless Locust serves
	// TLS itself, the master pod carries the prometheus.io scrape
	// annotations. Empty: only the master's own namespace reaches it.
	MetricsNamespaces []string
	// ServiceMonitor, when set, creates a Prometheus Operator
	// ServiceMonitor for the master's /metrics on the metrics port,
	// scraped every 15 s; the cluster must have its CRD.
	ServiceMonitor *ServiceMonitor
}

// Placement constrains where one role's pods run.
type Placement struct {
	NodeSelector map[string]string
	Tolerations  []Toleration
}

// Toleration lets pods onto nodes with a matching taint, as a Kubernetes
// toleration does. Operator is "Equal" (the default) or "Exists".
type Toleration struct {
	Key, Operator, Value, Effect string
}

// Shard is one master with its own workers: its Deployment and Service,
// its workers' Deployment and both roles' disruption budgets.
type Shard struct {
	Master                 *appsv1.Deployment
	MasterService          *corev1.Service
	Worker                 *appsv1.Deployment
	MasterDisruptionBudget *policyv1.PodDisruptionBudget
	WorkerDisruptionBudget *policyv1.PodDisruptionBudget
	// Workers is the number of the shard's worker pods.
	Workers int
	// MasterAddress is the in-cluster DNS name its workers reach it at.
	MasterAddress pulumi.StringOutput
}

// LocustCluster is a distributed Locust deployment: locustfile ConfigMap,
// and per shard a master Deployment and Service and a worker Deployment.
type LocustCluster struct {
	pulumi.ResourceState

	// Shards are every master with its workers, shard 0 first. Master,
	// MasterService, Worker and the disruption budgets below are shard 0's.
	Shards []Shard

	// NamespaceResource is nil when the namespace already existed.
	NamespaceResource *corev1.Namespace
	Locustfiles       *corev1.ConfigMap
	// SecretEnv is nil when LocustClusterArgs.SecretEnv is empty.
	SecretEnv *corev1.Secret
	// WebLoginSecret holds the web login's password; nil without WebLogin.
	WebLoginSecret *corev1.Secret
	Master         *appsv1.Deployment
	MasterService  *corev1.Service
	Worker         *appsv1.Deployment
	// MasterDisruptionBudget keeps voluntary disruptions (node drains,
	// scale-downs) from evicting the master mid-test; WorkerDisruptionBudget
	// lets them take at most a tenth of the workers at a time.
	MasterDisruptionBudget *policyv1.PodDisruptionBudget
	WorkerDisruptionBudget *policyv1.PodDisruptionBudget
	// NetworkPolicies: ingress to the pods only from where Locust needs it,
	// and egress limited to EgressCIDRs when given. Enforced only where the
	// cluster runs a network policy engine.
	NetworkPolicies []*networkingv1.NetworkPolicy
	// ServiceMonitor is nil unless LocustClusterArgs.ServiceMonitor is set.
	ServiceMonitor *apiextensions.CustomResource
	// WebService and WebIngress expose the web UI; nil unless
	// WebExposure asks for them. WebTLSSecret holds the certificate Locust
	// serves HTTPS with; nil unless WebExposure.LoadBalancer.TLS is set.
	WebService   *corev1.Service
	WebIngress   *networkingv1.Ingress
	WebTLSSecret *corev1.Secret

	// Namespace the cluster runs in.
	Namespace pulumi.StringOutput
	// MasterServiceName is the name of shard 0's master's ClusterIP Service.
	MasterServiceName pulumi.StringOutput
	// MasterAddress is the in-cluster DNS name shard 0's workers reach its
	// master at.
	MasterAddress pulumi.StringOutput
	// PortForwardCommand opens shard 0's web UI on localhost:8089 (at WebPath,
	// over https when Locust serves TLS itself).
	PortForwardCommand pulumi.StringOutput
	// WebAddress is where the exposed UI opens, like
	// "https://a1b2...elb.eu-west-1.amazonaws.com/", or at the load
	// balancer's Hostname when one is given; "" when private.
	WebAddress pulumi.StringOutput
	// WebLoadBalancerHostname is the web load balancer's own DNS name, the
	// target of the CNAME for its Hostname; "" without a load balancer.
	WebLoadBalancerHostname pulumi.StringOutput
	// WebPath is the path the UI is served under on the master's web port:
	// "" for /, or the Ingress's sub-path.
	WebPath pulumi.StringOutput
	// Workers is the number of worker pods, across shards.
	Workers pulumi.IntOutput
	// ShardCount is the number of masters; ShardMasterServiceNames their
	// Services' names and ShardWorkers their worker counts, shard 0 first.
	ShardCount              pulumi.IntOutput
	ShardMasterServiceNames pulumi.StringArrayOutput
	ShardWorkers            pulumi.IntArrayOutput
	// Image is the Locust image master and workers run.
	Image pulumi.StringOutput
}
