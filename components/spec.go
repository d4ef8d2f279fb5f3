package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// maxConfigMapBytes is the size limit Kubernetes puts on one ConfigMap.
const maxConfigMapBytes = 1 << 20

// clusterSpec is the validated, defaulted form of LocustClusterArgs plus the
// values derived from it that more than one resource needs.
type clusterSpec struct {
	name        string
	namespace   string
	serviceName string
	image       string
	run         []string
	checksum    string
	targetHost  pulumi.StringInput
	env         []EnvVar
	// master is shard 0's master's resources.
	master Resources
	worker Resources
	// instances are the shards' instance names, shard 0 first (shardName);
	// shardWorkers and shardMasters are their worker counts and master
	// resources.
	instances    []string
	shardWorkers []int
	shardMasters []Resources
	placement    map[string]Placement
	egressCIDRs  []string
	// metricsNamespaces may reach the master's metrics port.
	metricsNamespaces []string
	// serviceMonitor is on: Prometheus finds the master through it, and the
	// pod carries no scrape annotations.
	serviceMonitor bool
	// files are the ConfigMap's: the locustfiles and the worker plugin.
	files map[string]string
	// webLogin puts the web UI behind the plugin's login.
	webLogin *WebLogin
	// exposure opens the web UI beyond the port-forward; nil: private.
	exposure *WebExposure
}

// mergePlacement is role's placement with the shared node selector under it.
func mergePlacement(shared map[string]string, role Placement) Placement {
	sel := maps.Clone(shared)
	if sel == nil {
		sel = map[string]string{}
	}
	maps.Copy(sel, role.NodeSelector)
	return Placement{NodeSelector: sel, Tolerations: role.Tolerations}
}

// newClusterSpec checks args and fills in their defaults. The checks run in
// a fixed order, so that a stack with several mistakes is always told of
// the same one first.
func newClusterSpec(name string, args *LocustClusterArgs) (*clusterSpec, error) {
	s := defaultedSpec(name, args)
	if err := s.validateIdentity(args); err != nil {
		return nil, err
	}
	if err := s.takeWebAccess(args); err != nil {
		return nil, err
	}
	if err := validateWorkload(args); err != nil {
		return nil, err
	}
	if err := s.validateShards(args); err != nil {
		return nil, err
	}
	if err := validateEnv(args); err != nil {
		return nil, err
	}
	if err := validatePlacement(args); err != nil {
		return nil, err
	}
	if err := validateNetworkAccess(args); err != nil {
		return nil, err
	}
	if err := s.worker.validate(); err != nil {
		return nil, fmt.Errorf("worker resources: %w", err)
	}
	for i, r := range s.shardMasters {
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("%s resources: %w", s.shardRole(i, "master"), err)
		}
	}
	s.files = mountedFiles(args.Locustfiles)
	s.checksum = checksum(s.files)
	return s, nil
}

// defaultedSpec is args with the image and both roles' resources filled in
// where they are left empty; nothing in it is checked yet.
func defaultedSpec(name string, args *LocustClusterArgs) *clusterSpec {
	s := &clusterSpec{
		name:        name,
		namespace:   args.Namespace,
		serviceName: name + "-master",
		image:       args.Image,
		run:         args.Run,
		targetHost:  args.TargetHost,
		env:         args.Env,
		worker:      DefaultWorkerResources,
		placement: map[string]Placement{
			"master": mergePlacement(args.NodeSelector, args.Master),
			"worker": mergePlacement(args.NodeSelector, args.Worker),
		},
		egressCIDRs:       args.EgressCIDRs,
		metricsNamespaces: args.MetricsNamespaces,
		serviceMonitor:    args.ServiceMonitor != nil,
	}
	if s.image == "" {
		s.image = DefaultImage
	}
	shards := max(args.Shards, 1)
	s.shardWorkers = ShardWorkers(args.Workers, shards)
	for i := range shards {
		s.instances = append(s.instances, shardName(name, i))
		master := MasterResourcesFor(s.shardWorkers[i])
		switch {
		case len(args.ShardMasterResources) == shards:
			master = args.ShardMasterResources[i]
		case args.MasterResources != nil:
			master = *args.MasterResources
		}
		s.shardMasters = append(s.shardMasters, master)
	}
	s.master = s.shardMasters[0]
	if args.WorkerResources != nil {
		s.worker = *args.WorkerResources
	}
	return s
}

// validateIdentity checks what names the cluster's objects and what they
// run and load-test: name, namespace, image and target.
func (s *clusterSpec) validateIdentity(args *LocustClusterArgs) error {
	if err := ValidateName(s.name); err != nil {
		return fmt.Errorf("name %q: %w", s.name, err)
	}
	if err := ValidateNamespace(s.namespace); err != nil {
		return fmt.Errorf("namespace %q: %w", s.namespace, err)
	}
	if err := ValidateImage(s.image); err != nil {
		return fmt.Errorf("image %q: %w", s.image, err)
	}
	if args.TargetHost == nil {
		return fmt.Errorf("TargetHost is required")
	}
	return nil
}

// takeWebAccess checks the web login and the exposure against the image
// and each other, and keeps them on s.
func (s *clusterSpec) takeWebAccess(args *LocustClusterArgs) error {
	if l := args.WebLogin; l != nil {
		if err := l.validate(s.image); err != nil {
			return err
		}
		s.webLogin = l
	}
	if e := args.WebExposure; e != nil {
		if err := e.validate(args.WebLogin, s.image); err != nil {
			return fmt.Errorf("WebExposure: %w", err)
		}
		s.exposure = e
	}
	return nil
}

// validateWorkload checks the workers and the files they run: the
// locustfiles must fit one ConfigMap beside the worker plugin, under names
// a ConfigMap takes, and hold every file Run names.
func validateWorkload(args *LocustClusterArgs) error {
	if args.Workers < 1 {
		return fmt.Errorf("Workers is %d; at least 1 is required", args.Workers)
	}
	if len(args.Run) == 0 {
		return fmt.Errorf("Run must name at least one locustfile")
	}
	if _, taken := args.Locustfiles[WorkerPluginFile]; taken {
		return fmt.Errorf("locustfile name %q is the component's own (its worker plugin); rename the file", WorkerPluginFile)
	}
	size := len(WorkerPluginFile) + len(workerPlugin)
	for file, source := range args.Locustfiles {
		if err := ValidateLocustfileName(file); err != nil {
			return fmt.Errorf("locustfile name %q is not a valid ConfigMap key: %w", file, err)
		}
		size += len(file) + len(source)
	}
	if size > maxConfigMapBytes {
		return fmt.Errorf("locustfiles add up to %d bytes; a ConfigMap holds at most %d", size, maxConfigMapBytes)
	}
	for _, file := range args.Run {
		if _, ok := args.Locustfiles[file]; !ok {
			return fmt.Errorf("Run names %q, which is not in Locustfiles (%s)", file, strings.Join(sortedKeys(args.Locustfiles), ", "))
		}
	}
	return nil
}

// validateShards checks the shard count against the workers, the master
// resources given per shard, the exposure and the names the last shard's
// objects take.
func (s *clusterSpec) validateShards(args *LocustClusterArgs) error {
	shards := len(s.instances)
	switch {
	case args.Shards < 0:
		return fmt.Errorf("Shards is %d; 0 or 1 is one master, more is one master per shard", args.Shards)
	case args.Workers < shards:
		return fmt.Errorf("Workers is %d, fewer than Shards %d: every shard needs at least one worker", args.Workers, shards)
	case len(args.ShardMasterResources) != 0 && len(args.ShardMasterResources) != shards:
		return fmt.Errorf("ShardMasterResources holds %d entries; it must hold one per shard (%d)", len(args.ShardMasterResources), shards)
	case args.WebExposure != nil && shards > 1:
		return fmt.Errorf("WebExposure opens one master's web UI, and Shards is %d: drive the shards with cmd/loadtest, or deploy one shard", shards)
	}
	last := s.instances[shards-1]
	if err := ValidateName(last); err != nil {
		return fmt.Errorf("name %q of shard %d: %w", last, shards-1, err)
	}
	return nil
}

// ShardWorkers splits workers over shards as evenly as possible: each
// shard gets workers/shards, and the first workers%shards one more, so
// shard 0 has the most and no two differ by more than one.
func ShardWorkers(workers, shards int) []int {
	split := make([]int, shards)
	for i := range split {
		split[i] = workers / shards
		if i < workers%shards {
			split[i]++
		}
	}
	return split
}

// shardName is the instance name of shard i: the cluster's own name for
// shard 0, so that a cluster from before shards keeps its objects, and
// <name>-<i> for the others.
func shardName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, i)
}

// shardRole names one role of shard i in errors: "master" with one shard,
// "shard 2 master" with several.
func (s *clusterSpec) shardRole(i int, role string) string {
	if len(s.instances) == 1 {
		return role
	}
	return fmt.Sprintf("shard %d %s", i, role)
}

// shard is the spec of shard i alone: the cluster's, with the shard's
// instance name, Service name and master resources, so that its master,
// Service, workers and disruption budgets are built by the code that
// builds a one-master cluster's.
func (s *clusterSpec) shard(i int) *clusterSpec {
	c := *s
	c.name = s.instances[i]
	c.serviceName = c.name + "-master"
	c.master = s.shardMasters[i]
	return &c
}

// validateEnv checks the plain and the secret variables as one list: a
// name given in both would have one value silently win over the other.
func validateEnv(args *LocustClusterArgs) error {
	seen := make(map[string]bool, len(args.Env)+len(args.SecretEnv))
	for i, e := range append(slices.Clone(args.Env), args.SecretEnv...) {
		if err := ValidateEnvName(e.Name, i >= len(args.Env)); err != nil {
			return fmt.Errorf("env var name %q: %w", e.Name, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("env var %s is given twice", e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

// validatePlacement checks the shared and the per-role node selectors, and
// each role's tolerations.
func validatePlacement(args *LocustClusterArgs) error {
	for role, sel := range map[string]map[string]string{"": args.NodeSelector, "master ": args.Master.NodeSelector, "worker ": args.Worker.NodeSelector} {
		for _, k := range sortedKeys(sel) {
			if err := ValidateNodeSelector(k, sel[k]); err != nil {
				return fmt.Errorf("%snode selector %s=%s: %w", role, k, sel[k], err)
			}
		}
	}
	for role, p := range map[string]Placement{"master": args.Master, "worker": args.Worker} {
		for _, tol := range p.Tolerations {
			if err := ValidateToleration(tol); err != nil {
				return fmt.Errorf("%s toleration %+v: %w", role, tol, err)
			}
		}
	}
	return nil
}

// validateNetworkAccess checks what the NetworkPolicies are built from: the
// egress CIDRs and the namespaces let in to scrape the metrics.
func validateNetworkAccess(args *LocustClusterArgs) error {
	for _, cidr := range args.EgressCIDRs {
		if err := ValidateCIDR(cidr); err != nil {
			return fmt.Errorf("egress CIDR %q: %w", cidr, err)
		}
	}
	for _, ns := range args.MetricsNamespaces {
		if err := ValidateNamespace(ns); err != nil {
			return fmt.Errorf("metrics namespace %q: %w", ns, err)
		}
	}
	return nil
}

// mountedFiles are the ConfigMap's files: the locustfiles and the worker
// plugin.
func mountedFiles(locustfiles map[string]string) map[string]string {
	files := maps.Clone(locustfiles)
	if files == nil {
		files = map[string]string{}
	}
	files[WorkerPluginFile] = workerPlugin
	return files
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
	if version := imageVersionLabel(s.image); version != "" {
		l["app.kubernetes.io/version"] = version
	}
	return l
}

// locustfileArg lists the files to load, the component's worker plugin
// last. A directory would make Locust import every file twice on a
// ConfigMap mount, once more through the `..data` link.
func (s *clusterSpec) locustfileArg() string {
	paths := make([]string, 0, len(s.run)+1)
	for _, f := range append(slices.Clone(s.run), WorkerPluginFile) {
		paths = append(paths, LocustfileMountPath+"/"+f)
	}
	return "--locustfile=" + strings.Join(paths, ",")
}

func (s *clusterSpec) masterArgs() []string {
	args := []string{
		"--master",
		fmt.Sprintf("--master-bind-port=%d", MasterPort),
		fmt.Sprintf("--web-port=%d", WebPort),
		fmt.Sprintf("%s=%d", metricsPortOption, MetricsPort),
		// The master hands it to the workers with each test.
		fmt.Sprintf("--stop-timeout=%d", StopTimeout),
	}
	if s.webLogin != nil {
		args = append(args, "--web-login")
	}
	if base := s.exposure.basePath(); base != "" {
		args = append(args, "--web-base-path="+base)
	}
	if s.exposure.ownTLS() != nil {
		args = append(args, "--tls-cert="+webTLSMountPath+"/tls.crt", "--tls-key="+webTLSMountPath+"/tls.key")
	}
	return append(args, s.locustfileArg())
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

// webScheme is what the master's web port speaks: https when Locust serves
// TLS itself.
func (s *clusterSpec) webScheme() string {
	if s.exposure.ownTLS() != nil {
		return "https"
	}
	return "http"
}
