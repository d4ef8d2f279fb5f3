// Package stackconfig reads and validates this project's stack configuration.
//
// It is the one place that knows the config keys. Every key is declared, with
// its type, default and description, in Pulumi.yaml; the Pulumi engine fills
// in those defaults before the program runs, so this package has no defaults
// of its own. Parse checks every key and reports every problem at once, each
// naming the key, the value and what is allowed, before the program registers
// a single resource.
package stackconfig

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/components/ekscluster"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Project is the Pulumi project name, and so the namespace of its config keys.
const Project = "locust-eks"

// ClusterMode says where the Kubernetes cluster comes from.
type ClusterMode string

const (
	// ModeEKS creates the VPC (unless one is given), EKS cluster and node group.
	ModeEKS ClusterMode = "eks"
	// ModeExisting creates no AWS resource and deploys into the cluster of a
	// kubeconfig context: an existing EKS cluster, kind, minikube, any.
	ModeExisting ClusterMode = "existing"
)

// Config is the whole, validated stack configuration.
type Config struct {
	Mode     ClusterMode
	Existing ExistingCluster // used in ModeExisting
	EKS      EKSCluster      // used in ModeEKS
	Locust   Locust
	// LoadTest is what cmd/loadtest runs by default, through the stack's
	// outputs.
	LoadTest LoadTest
	// TTLHours is how long the stack may live after the up that set it;
	// 0 is for ever. cmd/reaper destroys it once past.
	TTLHours float64
	// Warnings are valid settings worth a second look (a Kubernetes version
	// in extended support), shown at preview.
	Warnings []string
}

// LoadTest are a stack's load-test parameters and thresholds; zero limits
// are none, and MaxFailRatio is negative for none.
type LoadTest struct {
	Users, SpawnRate           int
	RunTime                    time.Duration
	MaxFailRatio               float64
	MaxP95Ms, MaxP99Ms, MinRPS int
	MaxRegressionPct           int
	// ResultsBucket names an existing bucket; empty creates one in eks
	// mode. ExpireDays and ForceDestroy are the created bucket's.
	ResultsBucket string
	ExpireDays    int
	ForceDestroy  bool
}

// ExistingCluster says how to reach a cluster the stack does not create.
type ExistingCluster struct {
	// Kubeconfig is a kubeconfig file path; empty means the Kubernetes
	// provider's default ($KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	// Context is the kubeconfig context; empty means its current context.
	Context string
	// NodeSelector places the Locust pods on matching nodes;
	// MasterNodeSelector and WorkerNodeSelector add to it per role.
	NodeSelector, MasterNodeSelector, WorkerNodeSelector map[string]string
	// WorkerTolerations let the workers onto tainted nodes, such as a node
	// pool kept for load generation.
	WorkerTolerations []components.Toleration
}

// EKSCluster is the cluster, network and node group the stack creates.
type EKSCluster struct {
	// Name of the EKS cluster; empty lets Pulumi name it.
	Name              string
	KubernetesVersion string
	LogTypes          []string
	PublicAccessCIDRs []string
	AdminARNs         []string
	// CreatorARN is the identity that creates the cluster, which EKS makes
	// an administrator itself; empty when not recorded.
	CreatorARN  string
	Credentials ekscluster.Credentials
	// MaxHourlyCost is the ceiling on the estimated cost per hour in USD;
	// 0 is none.
	MaxHourlyCost float64
	// SystemInstanceTypes are the on-demand node group's, for the master.
	SystemInstanceTypes []string
	Network             Network
	NodeGroup           NodeGroup
}

// Network is either an existing VPC (VpcID set) or one the stack creates.
type Network struct {
	VpcID            string
	PublicSubnetIDs  []string
	PrivateSubnetIDs []string

	CIDR              netip.Prefix
	AvailabilityZones int
	NATGatewayPerAZ   bool
}

// subnetLists pairs each subnet list with its config key, in a fixed order.
func (n Network) subnetLists() []struct {
	key string
	ids []string
} {
	return []struct {
		key string
		ids []string
	}{{"publicSubnetIds", n.PublicSubnetIDs}, {"privateSubnetIds", n.PrivateSubnetIDs}}
}

// Existing reports whether the stack uses a VPC it does not own.
func (n Network) Existing() bool { return n.VpcID != "" }

// NodeGroup is the managed node group the Locust pods run on.
type NodeGroup struct {
	InstanceTypes []string
	CapacityType  string
	MinSize       int
	DesiredSize   int
	MaxSize       int
	DiskSizeGiB   int
}

// Locust is the load test deployed onto the cluster.
type Locust struct {
	Namespace       string
	CreateNamespace bool
	Locustfiles     []string
	TargetHost      string
	Image           string
	// Workers is the worker count across shards; Shards the masters,
	// planned from Workers when the key is unset; ShardWorkers each
	// shard's workers (components.ShardWorkers), shard 0 first.
	Workers      int
	Shards       int
	ShardWorkers []int
	Env          []EnvVar
	// SecretEnv are environment variables whose values stay encrypted in
	// the stack and in Pulumi's state: tokens for the target.
	SecretEnv []EnvVar
	// Master is shard 0's master's resources, the shard with the most
	// workers; ShardMasters each shard's, shard 0 first, sized for its own
	// workers where the user left a request empty.
	Master       components.Resources
	ShardMasters []components.Resources
	Worker       components.Resources
	// WebLogin puts the web UI behind a login; nil: no login.
	WebLogin *WebLogin
	// WebExposure opens the web UI at an address; nil: private.
	WebExposure *WebExposure
	// EgressCIDRs, when set, are the only addresses the pods may reach.
	EgressCIDRs []string
	// MetricsNamespaces may reach the master's /metrics (Prometheus).
	MetricsNamespaces []string
	// ServiceMonitor asks for a Prometheus Operator ServiceMonitor of the
	// master, with ServiceMonitorLabels on it.
	ServiceMonitor       bool
	ServiceMonitorLabels map[string]string
}

// EnvVar is one extra environment variable for the Locust containers.
type EnvVar struct{ Name, Value string }

// Problem is one invalid config value.
type Problem struct {
	Key     string
	Value   string
	Allowed string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: got %s; %s", p.Key, p.Value, p.Allowed)
}

// Error lists every invalid value of a stack's config.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  - " + p.String()
	}
	return "invalid stack configuration (set with `pulumi config set KEY VALUE`):\n" + strings.Join(lines, "\n")
}

// Lookup returns the raw value of a project config key (without the
// "locust-eks:" prefix; keys of other namespaces, like aws:region, with theirs) as Pulumi hands it to programs (arrays as JSON),
// whether it is set, and whether the stack stores it encrypted.
type Lookup func(key string) (value string, ok, secret bool)

// PlainEntries lists the entries of an object-valued config key (without the
// "locust-eks:" prefix) that are stored in plain text, and whether that is
// known at all.
type PlainEntries func(key string) (names []string, known bool)

// Load reads the stack config of a running Pulumi program. locustfiles are
// the file names the locustfiles directory holds. stackFileDir holds
// Pulumi.<stack>.yaml; empty means the project's root directory, which the
// language host tells the program.
func Load(ctx *pulumi.Context, locustfiles []string, stackFileDir string) (*Config, error) {
	cfg := config.New(ctx, Project)
	dir := stackFileDir
	if dir == "" {
		dir = ctx.RootDirectory()
	}
	if dir == "" {
		dir = "." // Pulumi runs a program in its project directory.
	}
	stackFile := filepath.Join(dir, "Pulumi."+ctx.Stack()+".yaml")
	c, err := Parse(func(key string) (string, bool, bool) {
		if strings.Contains(key, ":") { // another namespace, like aws:region
			v, err := config.Try(ctx, key)
			return v, err == nil, ctx.IsConfigSecret(key)
		}
		v, err := cfg.Try(key)
		return v, err == nil, ctx.IsConfigSecret(Project + ":" + key)
	}, func(key string) ([]string, bool) {
		return StackFilePlainEntries(stackFile, key)
	}, locustfiles)
	// Keys the program would never read are refused with the rest, so a
	// value set under a wrong name cannot go unnoticed (a secretEnv entry
	// set without --path would otherwise drop the variable from the pods).
	undeclared, _ := StackFileUndeclared(dir, stackFile)
	if len(undeclared) == 0 {
		return c, err
	}
	decls, _ := ReadDeclarations(dir)
	problems := undeclaredProblems(undeclared, func(key string) bool { _, ok := decls[key]; return ok })
	var invalid *Error
	if errors.As(err, &invalid) {
		problems = append(invalid.Problems, problems...)
	} else if err != nil {
		return nil, err
	}
	return nil, &Error{Problems: problems}
}

// WebLogin are the web UI's credentials (webUsername, webPassword).
type WebLogin struct {
	Username string
	// Password is secret: it must never reach a log or an error.
	Password string
}

// maxTTLHours is the longest ttlHours: a year.
const maxTTLHours = 8760

// Parse validates raw config values. It returns *Error listing every problem.
// plain may be nil when no stack file can say which entries of a map are
// secret.
func Parse(lookup Lookup, plain PlainEntries, locustfiles []string) (*Config, error) {
	p := &parser{lookup: lookup, plain: plain}
	c := &Config{}

	c.Mode = ClusterMode(p.oneOf("clusterMode", string(ModeEKS), string(ModeExisting)))
	placement := map[string]bool{}
	existing := ExistingCluster{
		NodeSelector:       p.labelMap("nodeSelector", nodeLabel),
		MasterNodeSelector: p.labelMap("masterNodeSelector", nodeLabel),
		WorkerNodeSelector: p.labelMap("workerNodeSelector", nodeLabel),
		WorkerTolerations:  p.tolerations("workerTolerations"),
	}
	for key, set := range map[string]bool{
		"nodeSelector": len(existing.NodeSelector) > 0, "masterNodeSelector": len(existing.MasterNodeSelector) > 0,
		"workerNodeSelector": len(existing.WorkerNodeSelector) > 0, "workerTolerations": len(existing.WorkerTolerations) > 0,
	} {
		placement[key] = set
	}

	switch c.Mode {
	case ModeExisting:
		existing.Kubeconfig = p.str("kubeconfig")
		existing.Context = p.str("kubeContext")
		c.Existing = existing
	case ModeEKS:
		for _, key := range slices.Sorted(maps.Keys(placement)) {
			if placement[key] {
				p.fail(key, p.raw(key), "must be empty when clusterMode is eks: the master runs on the stack's system node group and the workers on its tainted worker node group")
			}
		}
		c.EKS = p.eksCluster()
	}
	c.Locust = p.locust(locustfiles)
	var vpcCIDR, region string
	if c.Mode == ModeEKS {
		region = c.EKS.Credentials.Region
		if c.EKS.Network.VpcID == "" && c.EKS.Network.CIDR.IsValid() {
			vpcCIDR = c.EKS.Network.CIDR.String()
		}
	}
	c.Locust.WebExposure = p.webExposure(c.Locust.WebLogin, c.Locust.Image, vpcCIDR, region)
	if c.Locust.WebExposure != nil && c.Locust.Shards > 1 {
		shards := "shards is " + p.str("shards")
		if atoi(p.str("shards")) == 0 {
			shards = fmt.Sprintf("shards, unset, is planned as %d from workers %d", c.Locust.Shards, c.Locust.Workers)
		}
		p.fail("webExposure", quote(p.str("webExposure")), "must be private when there is more than one shard ("+shards+
			"): one web UI shows one master's test; drive the shards with cmd/loadtest, which connects to every master")
	}
	c.LoadTest = p.loadTest()
	c.TTLHours = p.positiveAmount("ttlHours", maxTTLHours,
		fmt.Sprintf("must be empty (the stack lives until destroyed) or the hours it may live after the up that sets it, more than 0 and at most %d, like \"8\" or \"0.5\"", maxTTLHours))

	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	c.Warnings = p.warnings
	return c, nil
}
