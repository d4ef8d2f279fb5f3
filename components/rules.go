package components

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The rules the Kubernetes API server and image registries apply to the
// values a LocustCluster puts into object fields, taken from their own
// libraries (k8s.io/apimachinery's validation, the API server's code;
// github.com/distribution/reference, the registries' grammar) rather than
// restated as regular expressions. NewLocustCluster checks every value with
// them before it registers a resource, and stackconfig uses them to name the
// config key a bad value came from.

// ValidateName checks a LocustCluster name: it names the master Service
// (<name>-master, a DNS-1035 label: it must start with a letter) and the
// Deployments (<name>-master, <name>-worker, DNS-1123 subdomains).
func ValidateName(name string) error {
	var problems []string
	for _, obj := range []struct{ kind, name string }{{"Service", name + "-master"}, {"Deployment", name + "-worker"}} {
		var errs []string
		if obj.kind == "Service" {
			errs = validation.IsDNS1035Label(obj.name)
		} else {
			errs = validation.IsDNS1123Subdomain(obj.name)
		}
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("%s name %q: %s", obj.kind, obj.name, e))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	// Kubernetes turns every Service in the namespace into environment
	// variables named after it; a Service called "locust-..." yields
	// LOCUST_* variables, which Locust reads as its own settings and
	// crashes on (LOCUST_WEB_PORT=tcp://...). Service links are disabled in
	// our pods, but other pods in the namespace would still get them.
	if strings.HasPrefix(name, "locust") {
		return fmt.Errorf("it would name the master Service %q, which Kubernetes turns into LOCUST_* variables that Locust reads as its own settings; pick a name that does not start with \"locust\", such as \"loadtest\"", name+"-master")
	}
	return nil
}

// ValidateNamespace checks a namespace name (a DNS-1123 label).
func ValidateNamespace(namespace string) error {
	return joined(validation.IsDNS1123Label(namespace))
}

// ValidateLocustfileName checks a file name as a ConfigMap key. Beyond the
// characters, Kubernetes refuses ".", ".." and names starting with "..":
// the ConfigMap volume keeps its own "..data" link beside the files.
func ValidateLocustfileName(file string) error {
	return joined(validation.IsConfigMapKey(file))
}

// ValidateEnvName checks an environment variable name. A secret one is also
// a key of the Secret the pods take it from, so it must be a valid Secret
// data key as well. Names the component sets itself are refused, and so
// are the Locust settings in RefusedEnvVars, with the reason.
func ValidateEnvName(name string, secret bool) error {
	errs := validation.IsEnvVarName(name)
	if secret {
		errs = append(errs, validation.IsConfigMapKey(name)...)
	}
	if len(errs) == 0 && (slices.Contains(ManagedEnvVars, name) || slices.Contains(PluginEnvVars, name)) {
		errs = append(errs, "it is set by the component itself")
	}
	if why, refused := RefusedEnvVars[name]; len(errs) == 0 && refused {
		errs = append(errs, "it is refused: "+why)
	}
	return joined(slices.Compact(errs))
}

// ValidateNodeSelector checks one node-selector entry: a qualified label
// key and a label value.
func ValidateNodeSelector(key, value string) error {
	errs := validation.IsQualifiedName(key)
	for _, e := range validation.IsValidLabelValue(value) {
		errs = append(errs, "value: "+e)
	}
	return joined(errs)
}

// ValidateImage checks an image reference and that it pins a version: a tag
// other than "latest", or a digest. Master and workers must run the same
// Locust, which a moving tag does not promise.
func ValidateImage(image string) error {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return err
	}
	_, digested := ref.(reference.Digested)
	tagged, hasTag := ref.(reference.Tagged)
	switch {
	case !digested && !hasTag:
		return errors.New("it names no tag or digest")
	case !digested && tagged.Tag() == "latest":
		return errors.New("it uses the moving tag latest")
	}
	return nil
}

// imageLocustVersion is the Locust version an image's tag names, like
// "2.24.0" or "2.24.0-python3.12" (locustio/locust's tags).
var imageLocustVersion = regexp.MustCompile(`^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$`)

// locustVersion is the Locust version image's tag names (a missing patch
// is 0), and the tag; ok is false when the tag names none.
func locustVersion(image string) (v [3]int, tag string, ok bool) {
	tag = imageTag(image)
	m := imageLocustVersion.FindStringSubmatch(tag)
	if m == nil {
		return v, tag, false
	}
	for i, part := range []string{m[1], m[2], strings.TrimPrefix(m[3], ".")} {
		v[i], _ = strconv.Atoi(part)
	}
	return v, tag, true
}

// versionBefore reports whether version v came before since.
func versionBefore(v, since [3]int) bool {
	for i := range v {
		if v[i] != since[i] {
			return v[i] < since[i]
		}
	}
	return false
}

// imageVersionLabel is the value of the app.kubernetes.io/version label for
// image: its tag, when that is also a valid label value (a tag may be 128
// characters and end in '-' or '.', a label value may not), else "".
func imageVersionLabel(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	tagged, ok := ref.(reference.Tagged)
	if !ok || len(validation.IsValidLabelValue(tagged.Tag())) > 0 {
		return ""
	}
	return tagged.Tag()
}

// ValidateQuantity checks a resource quantity ("500m", "2", "1Gi") with the
// API server's own parser, and that it is positive.
func ValidateQuantity(q string) (resource.Quantity, error) {
	quantity, err := resource.ParseQuantity(q)
	if err != nil {
		return quantity, err
	}
	if quantity.Sign() <= 0 {
		return quantity, errors.New("it must be positive")
	}
	return quantity, nil
}

func joined(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

// validate checks every quantity of r that is set, and that no limit is
// below its request (the API server refuses such a pod template).
func (r Resources) validate() error {
	for _, res := range []struct{ name, request, limit string }{
		{"cpu", r.CPURequest, r.CPULimit},
		{"memory", r.MemoryRequest, r.MemoryLimit},
	} {
		var request, limit resource.Quantity
		var err error
		if res.request != "" {
			if request, err = ValidateQuantity(res.request); err != nil {
				return fmt.Errorf("%s request %q: %w", res.name, res.request, err)
			}
		}
		if res.limit != "" {
			if limit, err = ValidateQuantity(res.limit); err != nil {
				return fmt.Errorf("%s limit %q: %w", res.name, res.limit, err)
			}
			if res.request != "" && limit.Cmp(request) < 0 {
				return fmt.Errorf("%s limit %s is below the request %s", res.name, res.limit, res.request)
			}
		}
	}
	return nil
}

// ValidateToleration checks a toleration as the API server does: a qualified
// key (empty only with Exists), Equal or Exists, no value with Exists, and
// one of the taint effects or none (all effects).
func ValidateToleration(t Toleration) error {
	var errs []string
	if t.Key != "" {
		errs = append(errs, validation.IsQualifiedName(t.Key)...)
	}
	switch t.Operator {
	case "", "Equal":
		if t.Key == "" {
			errs = append(errs, "an empty key needs operator Exists")
		}
		if t.Value != "" {
			errs = append(errs, validation.IsValidLabelValue(t.Value)...)
		}
	case "Exists":
		if t.Value != "" {
			errs = append(errs, "operator Exists takes no value")
		}
	default:
		errs = append(errs, fmt.Sprintf("operator %q is not Equal or Exists", t.Operator))
	}
	if !slices.Contains([]string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
		errs = append(errs, fmt.Sprintf("effect %q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect))
	}
	return joined(errs)
}

// ValidateCIDR checks an IPv4 or IPv6 CIDR as a NetworkPolicy's ipBlock
// takes it.
func ValidateCIDR(cidr string) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	if prefix.Masked() != prefix {
		return fmt.Errorf("it has host bits set; %s is the network", prefix.Masked())
	}
	return nil
}

// imageTag is an image reference's tag, or "" when it has none.
func imageTag(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		return tagged.Tag()
	}
	return ""
}
