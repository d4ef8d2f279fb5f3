package stackconfig

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/locust-eks/locust-on-eks/components"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

func (p *parser) locust(available []string) Locust {
	l := Locust{
		Namespace:       p.str("namespace"),
		CreateNamespace: p.boolean("createNamespace"),
		Locustfiles:     p.list("locustfiles"),
		TargetHost:      p.str("targetHost"),
		Image:           p.str("image"),
	}
	l.Workers, l.Shards = p.workersAndShards()
	l.ShardWorkers = components.ShardWorkers(l.Workers, max(l.Shards, 1))
	if err := components.ValidateNamespace(l.Namespace); err != nil {
		p.fail("namespace", quote(l.Namespace), "must be a Kubernetes namespace name: "+err.Error())
	}

	// The directory's file names become ConfigMap keys: a file Kubernetes
	// would refuse is named here rather than at the API server.
	for _, f := range available {
		if err := components.ValidateLocustfileName(f); err != nil {
			p.fail("locustfiles", quote(f), "every file of locustfiles/ is mounted through a ConfigMap; rename it: "+err.Error())
		}
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

	if err := components.ValidateImage(l.Image); err != nil {
		p.fail("image", quote(l.Image), "must be an image reference pinned by tag or digest, like \"locustio/locust:2.46.7\" (not :latest: master and workers must run the same Locust version): "+err.Error())
	}

	l.EgressCIDRs = p.list("egressCidrs")
	for _, cidr := range l.EgressCIDRs {
		if err := components.ValidateCIDR(cidr); err != nil {
			p.fail("egressCidrs", quote(cidr), "each entry must be a CIDR the Locust pods may connect to, like \"10.0.0.0/16\" (empty: egress stays open): "+err.Error())
		}
	}
	p.noDuplicates("egressCidrs", l.EgressCIDRs)

	l.MetricsNamespaces = p.list("metricsNamespaces")
	for _, ns := range l.MetricsNamespaces {
		if err := components.ValidateNamespace(ns); err != nil {
			p.fail("metricsNamespaces", quote(ns), "each entry must be a namespace name, like \"monitoring\", whose pods (Prometheus) may scrape the master's /metrics: "+err.Error())
		}
	}
	p.noDuplicates("metricsNamespaces", l.MetricsNamespaces)
	l.ServiceMonitor = p.boolean("serviceMonitor")
	l.ServiceMonitorLabels = p.labelMap("serviceMonitorLabels", kubeLabel)
	if len(l.ServiceMonitorLabels) > 0 && !l.ServiceMonitor && p.ok("serviceMonitor") {
		p.fail("serviceMonitorLabels", p.raw("serviceMonitorLabels"), "must be empty unless serviceMonitor is true: they label the ServiceMonitor")
	}
	if l.ServiceMonitor && len(l.MetricsNamespaces) == 0 {
		p.warn("serviceMonitor is on and metricsNamespaces is empty: the NetworkPolicy lets only pods of the Locust namespace reach /metrics; list Prometheus' namespace in metricsNamespaces unless it runs there.")
	}

	l.Env = p.envList("extraEnv")
	l.SecretEnv = p.secretEnv(l.Env)
	l.WebLogin = p.webLogin(l.Image)

	// Shard 0 has the most workers, so its master's sized requests are the
	// largest, and the limits checked against them hold for every shard.
	sized := components.MasterResourcesFor(l.ShardWorkers[0])
	l.Master = p.resources("master", &sized, l.ShardWorkers[0])
	for _, workers := range l.ShardWorkers {
		l.ShardMasters = append(l.ShardMasters, p.shardMaster(l.Master, workers))
	}
	l.Worker = p.resources("worker", nil, 0)
	return l
}

// shardMaster is the master of a shard of workers workers: master's
// values, with each request the user left empty sized for those workers.
func (p *parser) shardMaster(master components.Resources, workers int) components.Resources {
	sized := components.MasterResourcesFor(workers)
	if p.str("masterCpuRequest") == "" {
		master.CPURequest = sized.CPURequest
	}
	if p.str("masterMemoryRequest") == "" {
		master.MemoryRequest = sized.MemoryRequest
	}
	return master
}

// minWebPassword is the shortest web login password: the login is slowed
// per address, not locked, and an exposed UI meets guessing.
const minWebPassword = 12

// webLogin reads webLogin, webUsername and webPassword. No error shows the
// password, nor how long it is.
func (p *parser) webLogin(image string) *WebLogin {
	on := p.boolean("webLogin")
	username, password := p.str("webUsername"), p.raw("webPassword")
	const howToSet = "`pulumi config set --secret webPassword` (it prompts; the value stays out of your shell history)"
	if !on {
		if password != "" && p.ok("webLogin") {
			p.fail("webPassword", "a value (not shown)", "must be empty unless webLogin is true: it is the web login's password")
		}
		return nil
	}
	if err := components.ValidateWebUsername(username); err != nil {
		p.fail("webUsername", quote(username), "must be the web login's user name: "+err.Error())
	}
	switch {
	case password == "":
		p.fail("webPassword", `""`, "must be set when webLogin is true, encrypted: "+howToSet)
	case !p.secret("webPassword"):
		p.fail("webPassword", "a plain-text value (not shown)", "must be stored encrypted: set it again with "+howToSet)
	case utf8.RuneCountInString(password) < minWebPassword:
		p.fail("webPassword", "a value (not shown)", fmt.Sprintf("must be at least %d characters", minWebPassword))
	}
	if err := components.ValidateWebLoginImage(image); err != nil && p.ok("image") {
		p.fail("image", quote(image), "must run Locust 2.21 or later when webLogin is true: "+err.Error())
	}
	return &WebLogin{Username: username, Password: password}
}

// envList reads a list of NAME=value entries. Names must be valid, must not
// repeat, nor be set by the stack itself.
func (p *parser) envList(key string) []EnvVar {
	var env []EnvVar
	seen := map[string]bool{}
	for _, raw := range p.list(key) {
		name, value, found := strings.Cut(raw, "=")
		switch err := components.ValidateEnvName(name, false); {
		case !found:
			p.fail(key, quote(raw), "each entry must be NAME=value")
		case err != nil:
			p.fail(key, quote(raw), "NAME must be a valid environment variable name, neither one the stack sets itself (targetHost, locustfiles, master wiring) nor a Locust setting that breaks the cluster (docs/configuration.md, \"Locust settings in extraEnv\"): "+err.Error())
		case seen[name]:
			p.fail(key, quote(raw), name+" is given more than once")
		default:
			seen[name] = true
			env = append(env, EnvVar{Name: name, Value: value})
		}
	}
	return env
}

// secretEnvHow is how to set one secret variable, for error messages.
const secretEnvHow = "set each variable with `pulumi config set --secret --path 'secretEnv.NAME' VALUE`"

// secretEnv reads the secretEnv map of variable names to secret values. Its
// names are the map's keys, never taken from a value, so a value can never
// turn up as a name, in the stack file, a diff or an error. Problems name the
// variable and never show a byte of a value, not even of one typed wrong.
//
// Pulumi tells a program only that a map holds at least one secret, not which
// entries: a plain entry set among secret ones is found in the stack's
// settings file (plainEntries). Where the file cannot tell (the key comes from
// an ESC environment), the map as a whole must be secret.
func (p *parser) secretEnv(plain []EnvVar) []EnvVar {
	raw := p.raw("secretEnv")
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	var entries map[string]any
	if err := json.Unmarshal([]byte(raw), &entries); err != nil || entries == nil {
		p.fail("secretEnv", "a value that is not a map of names to values", "must map each variable name to its secret value: "+secretEnvHow)
		return nil
	}
	if len(entries) > 0 && !p.secret("secretEnv") {
		p.fail("secretEnv", "plain-text values only", "must be stored encrypted: "+secretEnvHow)
	}
	if names, known := p.plainEntries("secretEnv"); known {
		for _, name := range names {
			p.fail("secretEnv."+name, "a plain-text value", "must be stored encrypted: set it again with `pulumi config set --secret --path 'secretEnv."+name+"' VALUE`")
		}
	}
	taken := make(map[string]bool, len(plain))
	for _, e := range plain {
		taken[e.Name] = true
	}
	var env []EnvVar
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		value, isString := entries[name].(string)
		switch err := components.ValidateEnvName(name, true); {
		case err != nil:
			p.fail("secretEnv", secretEnvName(name), "each name must be a valid environment variable name and Secret key, neither one the stack sets itself nor a Locust setting that breaks the cluster (docs/configuration.md, \"Locust settings in extraEnv\"): "+err.Error())
		case taken[name]:
			p.fail("secretEnv", quote(name), name+" is also set in extraEnv; set it in one of them")
		case !isString:
			p.fail("secretEnv."+name, "a value that is not a string", "must be a string: "+secretEnvHow)
		default:
			env = append(env, EnvVar{Name: name, Value: value})
		}
	}
	return env
}

// secretEnvName shows a refused secretEnv name. A valid one is shown; an
// invalid one may be a secret typed into the name (`--path
// secretEnv.API_TOKEN="$TOKEN"` makes the name API_TOKEN=<the token>), so
// only its length, where it goes wrong and a valid part before '=' are.
func secretEnvName(name string) string {
	if len(validation.IsEnvVarName(name)) == 0 {
		return quote(name)
	}
	described := fmt.Sprintf("a name of %d characters (not shown: it may hold a secret)", len(name))
	for i, r := range name {
		valid := r == '-' || r == '.' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !valid {
			described += fmt.Sprintf(", its character %d not allowed", i+1)
			break
		}
	}
	if before, _, found := strings.Cut(name, "="); found && before != "" && len(validation.IsEnvVarName(before)) == 0 {
		described += fmt.Sprintf(", starting %s= (a value typed into the name? set it with `pulumi config set --secret --path 'secretEnv.%s' VALUE`)", before, before)
	}
	return described
}

// resources reads <role>CpuRequest, <role>CpuLimit, <role>MemoryRequest and
// <role>MemoryLimit. With sized, an empty request takes sized's value (the
// master's, sized for sizedFor workers); without, requests are required.
func (p *parser) resources(role string, sized *components.Resources, sizedFor int) components.Resources {
	quantity := func(resource, kind string, required bool) (string, *apiresource.Quantity) {
		key := role + resource + kind
		raw := p.str(key)
		if raw == "" && !required {
			return "", nil
		}
		q, err := components.ValidateQuantity(raw)
		if err != nil {
			example := map[string]string{"Cpu": "\"500m\" or \"2\"", "Memory": "\"512Mi\" or \"2Gi\""}[resource]
			allowed := "must be a positive Kubernetes quantity like " + example
			if !required {
				allowed += ", or empty for no limit"
			}
			p.fail(key, quote(raw), allowed)
			return raw, nil
		}
		return raw, &q
	}
	var r components.Resources
	for _, resource := range []string{"Cpu", "Memory"} {
		request, req := quantity(resource, "Request", sized == nil)
		limit, lim := quantity(resource, "Limit", false)
		if sized != nil && request == "" {
			request = map[string]string{"Cpu": sized.CPURequest, "Memory": sized.MemoryRequest}[resource]
			q := apiresource.MustParse(request)
			req = &q
		}
		if req != nil && lim != nil && lim.Cmp(*req) < 0 {
			what := request
			if p.str(role+resource+"Request") == "" {
				what += fmt.Sprintf(", sized for %d workers; set %s%sRequest to say otherwise", sizedFor, role, resource)
			}
			p.fail(role+resource+"Limit", quote(limit), fmt.Sprintf("must not be below %s%sRequest (%s)", role, resource, what))
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

// bucketName is S3's rule for general purpose bucket names (Amazon S3 user
// guide, "Bucket naming rules").
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// loadTest reads the loadTest* and resultsBucket* keys.
func (p *parser) loadTest() LoadTest {
	lt := LoadTest{
		Users:            p.integer("loadTestUsers", 1, 1_000_000),
		SpawnRate:        p.integer("loadTestSpawnRate", 1, 100_000),
		MaxP95Ms:         p.integer("loadTestMaxP95Ms", 0, 3_600_000),
		MaxP99Ms:         p.integer("loadTestMaxP99Ms", 0, 3_600_000),
		MinRPS:           p.integer("loadTestMinRps", 0, 100_000_000),
		MaxRegressionPct: p.integer("loadTestMaxRegressionPct", 0, 1000),
		MaxFailRatio:     -1,
	}
	raw := p.str("loadTestRunTime")
	d, err := time.ParseDuration(raw)
	if err != nil || d < time.Second || d > 24*time.Hour {
		p.fail("loadTestRunTime", quote(raw), "must be a Go duration from 1s to 24h, like \"5m\" or \"1h30m\"")
	}
	lt.RunTime = d
	lt.ResultsBucket = p.str("resultsBucket")
	if lt.ResultsBucket != "" && !bucketName.MatchString(lt.ResultsBucket) {
		p.fail("resultsBucket", quote(lt.ResultsBucket), "must be empty or an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
	}
	lt.ExpireDays = p.integer("resultsBucketExpireDays", 0, 36500)
	lt.ForceDestroy = p.boolean("resultsBucketForceDestroy")
	if raw := p.str("loadTestMaxFailRatio"); raw != "" {
		r, err := strconv.ParseFloat(raw, 64)
		if err != nil || r < 0 || r > 1 {
			p.fail("loadTestMaxFailRatio", quote(raw), "must be empty (no limit) or a share of failed requests from 0 to 1, like \"0.01\"")
		}
		lt.MaxFailRatio = r
	}
	return lt
}

// workersAndShards reads the worker count, the total across shards, and
// the shard count, planning it when shards is 0 (unset): one master per
// maxWorkers workers, rounded up, which a warning shows at preview. Past
// shards x maxWorkers the workers are refused, saying why: that is how
// many one master was measured to hold.
func (p *parser) workersAndShards() (workers, shards int) {
	shards = p.integer("shards", 0, maxShards)
	if shards < 0 || shards > maxShards {
		shards = 0
	}
	raw := p.str("workers")
	workers, err := strconv.Atoi(raw)
	measured := fmt.Sprintf("one Locust master was measured holding %d workers (docs/performance.md, How many workers one master holds), not more", maxWorkers)
	switch {
	case (err != nil || workers < 1) && shards > 0:
		p.fail("workers", quote(raw), fmt.Sprintf("must be a whole number from %d to %d with shards %d (at least one worker per shard, at most %d per master)", shards, shards*maxWorkers, shards, maxWorkers))
		return max(workers, 1), shards
	case err != nil || workers < 1:
		p.fail("workers", quote(raw), fmt.Sprintf("must be a whole number from 1 to %d (with shards unset, up to %d shards of %d)", maxShards*maxWorkers, maxShards, maxWorkers))
		return max(workers, 1), 1
	case shards == 0 && workers > maxShards*maxWorkers:
		p.fail("workers", quote(raw), fmt.Sprintf("must be at most %d with shards unset: %s, and shards go up to %d. For more load, give each worker more users and more CPU "+
			"(workerCpuRequest, a larger nodeInstanceTypes), or run several stacks as one test", maxShards*maxWorkers, measured, maxShards))
		return workers, maxShards
	case shards == 0:
		shards = (workers + maxWorkers - 1) / maxWorkers
		if shards > 1 {
			p.warn(fmt.Sprintf("shards is unset: planned %d shards (masters) for workers %d, one per %d workers, the most one master was measured holding "+
				"(docs/performance.md, How many workers one master holds); their workers: %s. Set shards to choose.",
				shards, workers, maxWorkers, joinInts(components.ShardWorkers(workers, shards))))
		}
	case workers > shards*maxWorkers:
		p.fail("workers", quote(raw), fmt.Sprintf("must be at most %d with shards %d: %s. Raise shards (up to %d), or give each worker more users and more CPU "+
			"(workerCpuRequest, a larger nodeInstanceTypes); Locust's --processes does not combine with a master", shards*maxWorkers, shards, measured, maxShards))
	case workers < shards:
		p.fail("workers", quote(raw), fmt.Sprintf("must be at least %d with shards %d: every shard needs a worker", shards, shards))
	}
	return workers, shards
}

// joinInts writes ns as "3, 2, 2".
func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}
