package stackconfig

import (
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"

	"github.com/locust-eks/locust-on-eks/components"
)

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
