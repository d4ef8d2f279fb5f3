package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// dnsLabel is a Kubernetes DNS-1123 label, the rule for names of namespaces
// and Services.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// configMapKey is what Kubernetes accepts as a ConfigMap data key.
var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// envName is a portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxConfigMapBytes is the size limit Kubernetes puts on one ConfigMap.
const maxConfigMapBytes = 1 << 20

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
