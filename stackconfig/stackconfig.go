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
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/locust-eks/locust-on-eks/components"
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
}

// ExistingCluster says how to reach a cluster the stack does not create.
type ExistingCluster struct {
	// Kubeconfig is a kubeconfig file path; empty means the Kubernetes
	// provider's default ($KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	// Context is the kubeconfig context; empty means its current context.
	Context string
	// NodeSelector places the Locust pods on matching nodes.
	NodeSelector map[string]string
}

// EKSCluster is the cluster, network and node group the stack creates.
type EKSCluster struct {
	// Name of the EKS cluster; empty lets Pulumi name it.
	Name              string
	KubernetesVersion string
	LogTypes          []string
	PublicAccessCIDRs []string
	AdminARNs         []string
	Network           Network
	NodeGroup         NodeGroup
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
	Workers         int
	Env             []EnvVar
	// SecretEnv are environment variables whose values stay encrypted in
	// the stack and in Pulumi's state: tokens for the target.
	SecretEnv []EnvVar
	Master    components.Resources
	Worker    components.Resources
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
// "locust-eks:" prefix) as Pulumi hands it to programs (arrays as JSON),
// whether it is set, and whether the stack stores it encrypted.
type Lookup func(key string) (value string, ok, secret bool)

// Load reads the stack config of a running Pulumi program. locustfiles are
// the file names the locustfiles directory holds.
func Load(ctx *pulumi.Context, locustfiles []string) (*Config, error) {
	cfg := config.New(ctx, Project)
	return Parse(func(key string) (string, bool, bool) {
		v, err := cfg.Try(key)
		return v, err == nil, ctx.IsConfigSecret(Project + ":" + key)
	}, locustfiles)
}

// Parse validates raw config values. It returns *Error listing every problem.
func Parse(lookup Lookup, locustfiles []string) (*Config, error) {
	p := &parser{lookup: lookup}
	c := &Config{}

	c.Mode = ClusterMode(p.oneOf("clusterMode", string(ModeEKS), string(ModeExisting)))
	nodeSelector := p.labelMap("nodeSelector")

	switch c.Mode {
	case ModeExisting:
		c.Existing = ExistingCluster{
			Kubeconfig:   p.str("kubeconfig"),
			Context:      p.str("kubeContext"),
			NodeSelector: nodeSelector,
		}
	case ModeEKS:
		if len(nodeSelector) > 0 {
			p.fail("nodeSelector", p.raw("nodeSelector"), "must be empty when clusterMode is eks: pods are placed on the stack's own node group")
		}
		c.EKS = p.eksCluster()
	}
	c.Locust = p.locust(locustfiles)

	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	return c, nil
}

var (
	eksName          = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)
	kubeMinor        = regexp.MustCompile(`^1\.(\d{1,2})$`)
	principalARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`)
	vpcID            = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetID         = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	instanceType     = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	dnsLabel         = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envName          = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelKey         = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValue       = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	imageReference   = regexp.MustCompile(`^((?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[a-f0-9]{64})?$`)
	quantityPattern  = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)
	clusterLogTypes  = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
	capacityTypes    = []string{"ON_DEMAND", "SPOT"}
	minKubeMinor     = 29
	maxWorkers       = 1000
	maxNodes         = 1000
	minDiskGiB       = 20 // the EKS AL2023 AMI's own root volume size
	maxDiskGiB       = 16384
	minAZs, maxAZs   = 2, 6
	minVPCPrefixBits = 16
	maxVPCPrefixBits = 20
)

func (p *parser) eksCluster() EKSCluster {
	c := EKSCluster{
		Name:              p.str("clusterName"),
		KubernetesVersion: p.str("kubernetesVersion"),
		LogTypes:          p.list("clusterLogTypes"),
		PublicAccessCIDRs: p.list("publicAccessCidrs"),
		AdminARNs:         p.list("clusterAdminArns"),
	}
	for _, arn := range c.AdminARNs {
		if !principalARN.MatchString(arn) {
			p.fail("clusterAdminArns", quote(arn), "each entry must be an IAM role or user ARN, like \"arn:aws:iam::123456789012:role/ci-preview\"")
		}
	}
	p.noDuplicates("clusterAdminArns", c.AdminARNs)
	if c.Name != "" && !eksName.MatchString(c.Name) {
		p.fail("clusterName", quote(c.Name), "must be empty (Pulumi names the cluster) or 1-100 letters, digits, '-' and '_', starting with a letter or digit")
	}
	if m := kubeMinor.FindStringSubmatch(c.KubernetesVersion); m == nil || atoi(m[1]) < minKubeMinor {
		p.fail("kubernetesVersion", quote(c.KubernetesVersion), fmt.Sprintf("must be a Kubernetes minor version that EKS supports, like \"1.34\" (1.%d or later)", minKubeMinor))
	}
	for _, t := range c.LogTypes {
		if !slices.Contains(clusterLogTypes, t) {
			p.fail("clusterLogTypes", quote(t), "each entry must be one of "+strings.Join(clusterLogTypes, ", "))
		}
	}
	p.noDuplicates("clusterLogTypes", c.LogTypes)
	if len(c.PublicAccessCIDRs) == 0 && p.ok("publicAccessCidrs") {
		p.fail("publicAccessCidrs", "[]", "must list the IPv4 CIDRs allowed to reach the public API endpoint, e.g. your egress IP as [\"198.51.100.7/32\"]")
	}
	for _, cidr := range c.PublicAccessCIDRs {
		if _, ok := parseCIDR(cidr); !ok {
			p.fail("publicAccessCidrs", quote(cidr), "each entry must be an IPv4 CIDR with no host bits set, like \"198.51.100.0/24\"")
		}
	}

	n := Network{
		VpcID:            p.str("vpcId"),
		PublicSubnetIDs:  p.list("publicSubnetIds"),
		PrivateSubnetIDs: p.list("privateSubnetIds"),
	}
	if n.VpcID != "" {
		if !vpcID.MatchString(n.VpcID) {
			p.fail("vpcId", quote(n.VpcID), "must be empty (the stack creates a VPC) or a VPC id like \"vpc-0a1b2c3d4e5f67890\"")
		}
		if len(n.PrivateSubnetIDs) < 2 {
			p.fail("privateSubnetIds", jsonText(n.PrivateSubnetIDs), "must list at least two subnets of vpcId, in different availability zones, for the nodes")
		}
		for _, subnets := range n.subnetLists() {
			key, ids := subnets.key, subnets.ids
			for _, id := range ids {
				if !subnetID.MatchString(id) {
					p.fail(key, quote(id), "each entry must be a subnet id like \"subnet-0a1b2c3d4e5f67890\"")
				}
			}
			p.noDuplicates(key, ids)
		}
	} else {
		for _, subnets := range n.subnetLists() {
			key, ids := subnets.key, subnets.ids
			if len(ids) > 0 {
				p.fail(key, jsonText(ids), "must be empty unless vpcId names the VPC these subnets belong to")
			}
		}
		raw := p.str("vpcCidr")
		prefix, ok := parseCIDR(raw)
		if !ok || prefix.Bits() < minVPCPrefixBits || prefix.Bits() > maxVPCPrefixBits {
			p.fail("vpcCidr", quote(raw), fmt.Sprintf("must be an IPv4 CIDR from /%d to /%d with no host bits set, like \"10.0.0.0/16\"", minVPCPrefixBits, maxVPCPrefixBits))
		}
		n.CIDR = prefix
		n.AvailabilityZones = p.integer("availabilityZoneCount", minAZs, maxAZs)
		n.NATGatewayPerAZ = p.boolean("natGatewayPerAz")
	}
	c.Network = n

	g := NodeGroup{
		InstanceTypes: p.list("nodeInstanceTypes"),
		CapacityType:  p.oneOf("nodeCapacityType", capacityTypes...),
		MinSize:       p.integer("nodeMinSize", 0, maxNodes),
		DesiredSize:   p.integer("nodeDesiredSize", 1, maxNodes),
		MaxSize:       p.integer("nodeMaxSize", 1, maxNodes),
		DiskSizeGiB:   p.integer("nodeDiskSize", minDiskGiB, maxDiskGiB),
	}
	if len(g.InstanceTypes) == 0 && p.ok("nodeInstanceTypes") {
		p.fail("nodeInstanceTypes", "[]", "must list at least one EC2 instance type, like [\"c6i.xlarge\"]")
	}
	for _, t := range g.InstanceTypes {
		if !instanceType.MatchString(t) {
			p.fail("nodeInstanceTypes", quote(t), "each entry must be an EC2 instance type like \"c6i.xlarge\"")
		}
	}
	p.noDuplicates("nodeInstanceTypes", g.InstanceTypes)
	if p.ok("nodeMinSize", "nodeMaxSize") && g.MinSize > g.MaxSize {
		p.fail("nodeMinSize", strconv.Itoa(g.MinSize), fmt.Sprintf("must not exceed nodeMaxSize (%d)", g.MaxSize))
	}
	if p.ok("nodeMinSize", "nodeDesiredSize", "nodeMaxSize") && (g.DesiredSize < g.MinSize || g.DesiredSize > g.MaxSize) {
		p.fail("nodeDesiredSize", strconv.Itoa(g.DesiredSize), fmt.Sprintf("must be from nodeMinSize (%d) to nodeMaxSize (%d)", g.MinSize, g.MaxSize))
	}
	c.NodeGroup = g
	return c
}

func (p *parser) locust(available []string) Locust {
	l := Locust{
		Namespace:       p.str("namespace"),
		CreateNamespace: p.boolean("createNamespace"),
		Locustfiles:     p.list("locustfiles"),
		TargetHost:      p.str("targetHost"),
		Image:           p.str("image"),
		Workers:         p.integer("workers", 1, maxWorkers),
	}
	if !dnsLabel.MatchString(l.Namespace) || len(l.Namespace) > 63 {
		p.fail("namespace", quote(l.Namespace), "must be a Kubernetes namespace name: 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit")
	}

	choices := "one or more of the files in locustfiles/: " + strings.Join(available, ", ")
	if len(l.Locustfiles) == 0 && p.ok("locustfiles") {
		p.fail("locustfiles", "[]", "must list "+choices)
	}
	for _, f := range l.Locustfiles {
		if !slices.Contains(available, f) {
			p.fail("locustfiles", quote(f), "each entry must be "+choices)
		}
	}
	p.noDuplicates("locustfiles", l.Locustfiles)

	if u, err := url.Parse(l.TargetHost); l.TargetHost == "" || err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		strings.ContainsAny(l.TargetHost, " \t\n") {
		p.fail("targetHost", quote(l.TargetHost), "must be the base URL of the system under test, like \"https://shop.example.com\" (http or https, no query, no credentials)")
	}

	if m := imageReference.FindStringSubmatch(l.Image); m == nil || (m[2] == "" && m[3] == "") || m[2] == "latest" {
		p.fail("image", quote(l.Image), "must be an image reference pinned by tag or digest, like \"locustio/locust:2.46.3\" (not :latest: master and workers must run the same Locust version)")
	}

	l.Env = p.envList("extraEnv", nil, false)
	l.SecretEnv = p.envList("secretEnv", l.Env, true)
	if len(l.SecretEnv) > 0 && !p.secret("secretEnv") {
		p.fail("secretEnv", "a plain-text value", "must be stored encrypted: set it with `pulumi config set --secret --path 'secretEnv[0]' NAME=value`")
	}

	l.Master = p.resources("master")
	l.Worker = p.resources("worker")
	return l
}

// envList reads a list of NAME=value entries. Names must not repeat, here or
// in others, nor be set by the stack itself. Problems with secret entries
// name the variable, never its value.
func (p *parser) envList(key string, others []EnvVar, secret bool) []EnvVar {
	var env []EnvVar
	taken := func(name string) bool {
		return slices.ContainsFunc(append(slices.Clone(others), env...), func(e EnvVar) bool { return e.Name == name })
	}
	for _, raw := range p.list(key) {
		name, value, found := strings.Cut(raw, "=")
		shown := quote(raw)
		if secret {
			shown = quote(name + "=(secret)")
		}
		switch {
		case !found || !envName.MatchString(name):
			if secret && !found {
				shown = "an entry without '='"
			}
			p.fail(key, shown, "each entry must be NAME=value with NAME made of letters, digits and '_', not starting with a digit")
		case slices.Contains(components.ManagedEnvVars, name):
			p.fail(key, shown, name+" is set by the stack itself (targetHost, locustfiles, master wiring); set those keys instead")
		case taken(name):
			p.fail(key, shown, name+" is given more than once (extraEnv and secretEnv together)")
		default:
			env = append(env, EnvVar{Name: name, Value: value})
		}
	}
	return env
}

// resources reads <role>CpuRequest, <role>CpuLimit, <role>MemoryRequest and
// <role>MemoryLimit.
func (p *parser) resources(role string) components.Resources {
	quantity := func(resource, kind string, required bool) (string, *big.Rat) {
		key := role + resource + kind
		raw := p.str(key)
		if raw == "" && !required {
			return "", nil
		}
		q, ok := parseQuantity(raw)
		if !ok || q.Sign() <= 0 {
			example := map[string]string{"Cpu": "\"500m\" or \"2\"", "Memory": "\"512Mi\" or \"2Gi\""}[resource]
			allowed := "must be a positive Kubernetes quantity like " + example
			if !required {
				allowed += ", or empty for no limit"
			}
			p.fail(key, quote(raw), allowed)
			return raw, nil
		}
		return raw, q
	}
	var r components.Resources
	for _, resource := range []string{"Cpu", "Memory"} {
		request, req := quantity(resource, "Request", true)
		limit, lim := quantity(resource, "Limit", false)
		if req != nil && lim != nil && lim.Cmp(req) < 0 {
			p.fail(role+resource+"Limit", quote(limit), fmt.Sprintf("must not be below %s%sRequest (%s)", role, resource, request))
		}
		if resource == "Cpu" {
			r.CPURequest, r.CPULimit = request, limit
		} else {
			r.MemoryRequest, r.MemoryLimit = request, limit
		}
	}
	return r
}

// parser reads typed values and collects problems instead of stopping at the
// first, so that one preview shows everything to fix.
type parser struct {
	lookup   Lookup
	problems []Problem
}

func (p *parser) fail(key, value, allowed string) {
	p.problems = append(p.problems, Problem{Key: key, Value: value, Allowed: allowed})
}

// ok reports whether none of keys has a problem yet, so that checks between
// keys do not pile onto a value already reported as unreadable.
func (p *parser) ok(keys ...string) bool {
	for _, pr := range p.problems {
		if slices.Contains(keys, pr.Key) {
			return false
		}
	}
	return true
}

func (p *parser) raw(key string) string {
	v, _, _ := p.lookup(key)
	return v
}

func (p *parser) secret(key string) bool {
	_, _, secret := p.lookup(key)
	return secret
}

func (p *parser) str(key string) string { return strings.TrimSpace(p.raw(key)) }

func (p *parser) oneOf(key string, allowed ...string) string {
	v := p.str(key)
	if !slices.Contains(allowed, v) {
		p.fail(key, quote(v), "must be one of "+strings.Join(allowed, ", "))
	}
	return v
}

func (p *parser) integer(key string, lo, hi int) int {
	raw := p.str(key)
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		p.fail(key, quote(raw), fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n
}

func (p *parser) boolean(key string) bool {
	raw := p.str(key)
	b, err := strconv.ParseBool(raw)
	if err != nil {
		p.fail(key, quote(raw), "must be true or false")
	}
	return b
}

// list reads an array value, which Pulumi passes as JSON.
func (p *parser) list(key string) []string {
	raw := p.str(key)
	if raw == "" {
		return nil
	}
	var items []string
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		p.fail(key, raw, "must be a list of strings, set in the stack file as a YAML list or with `pulumi config set --path '"+key+"[0]' VALUE`")
		return nil
	}
	return items
}

func (p *parser) noDuplicates(key string, items []string) {
	for i, item := range items {
		if slices.Contains(items[:i], item) {
			p.fail(key, quote(item), "each entry may appear only once")
		}
	}
}

// labelMap reads a list of "key=value" Kubernetes labels.
func (p *parser) labelMap(key string) map[string]string {
	m := map[string]string{}
	for _, raw := range p.list(key) {
		k, v, found := strings.Cut(raw, "=")
		_, dup := m[k]
		switch {
		case !found || !labelKey.MatchString(k) || !labelValue.MatchString(v):
			p.fail(key, quote(raw), "each entry must be a node label as key=value, like \"node-role/locust=true\"")
		case dup:
			p.fail(key, quote(raw), "label "+k+" is given more than once")
		default:
			m[k] = v
		}
	}
	return m
}

func parseCIDR(s string) (netip.Prefix, bool) {
	prefix, err := netip.ParsePrefix(s)
	if err != nil || !prefix.Addr().Is4() || prefix.Masked() != prefix {
		return netip.Prefix{}, false
	}
	return prefix, true
}

var quantityScale = map[string]*big.Rat{
	"": big.NewRat(1, 1), "m": big.NewRat(1, 1000),
	"k": big.NewRat(1e3, 1), "M": big.NewRat(1e6, 1), "G": big.NewRat(1e9, 1),
	"T": big.NewRat(1e12, 1), "P": big.NewRat(1e15, 1), "E": big.NewRat(1e18, 1),
	"Ki": big.NewRat(1<<10, 1), "Mi": big.NewRat(1<<20, 1), "Gi": big.NewRat(1<<30, 1),
	"Ti": big.NewRat(1<<40, 1), "Pi": big.NewRat(1<<50, 1), "Ei": big.NewRat(1<<60, 1),
}

// parseQuantity reads the common forms of a Kubernetes resource quantity
// exactly, so that a limit can be compared with its request.
func parseQuantity(s string) (*big.Rat, bool) {
	m := quantityPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	n, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return nil, false
	}
	return n.Mul(n, quantityScale[m[2]]), true
}

func quote(s string) string { return strconv.Quote(s) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
