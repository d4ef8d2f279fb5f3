package stackconfig

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/locust-eks/locust-on-eks/components"
)

// first, so that one preview shows everything to fix.
type parser struct {
	lookup   Lookup
	plain    PlainEntries
	problems []Problem
	warnings []string
}

// warn records something valid that costs or risks more than the user may
// know; the program shows it at preview.
func (p *parser) warn(text string) { p.warnings = append(p.warnings, text) }

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

// plainEntries lists the entries of an object-valued key that the stack's
// settings file stores in plain text; known is false when it cannot tell.
func (p *parser) plainEntries(key string) (names []string, known bool) {
	if p.plain == nil {
		return nil, false
	}
	return p.plain(key)
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
func (p *parser) labelMap(key, what string) map[string]string {
	m := map[string]string{}
	for _, raw := range p.list(key) {
		k, v, found := strings.Cut(raw, "=")
		_, dup := m[k]
		switch err := components.ValidateNodeSelector(k, v); {
		case !found:
			p.fail(key, quote(raw), "each entry must be "+what)
		case err != nil:
			p.fail(key, quote(raw), "each entry must be "+what+": "+err.Error())
		case dup:
			p.fail(key, quote(raw), "label "+k+" is given more than once")
		default:
			m[k] = v
		}
	}
	return m
}

// What labelMap's keys hold, for its errors.
const (
	nodeLabel = "a node label as key=value, like \"node-role/locust=true\""
	kubeLabel = "a Kubernetes label as key=value, like \"release=kube-prometheus-stack\""
)

// tolerations reads a list of tolerations written as `key=value:Effect`
// (Equal), `key:Effect` or `key` (Exists, any value; without an effect, any
// effect).
func (p *parser) tolerations(key string) []components.Toleration {
	var out []components.Toleration
	for _, raw := range p.list(key) {
		rest, effect, _ := strings.Cut(raw, ":")
		k, v, hasValue := strings.Cut(rest, "=")
		t := components.Toleration{Key: k, Operator: "Exists", Effect: effect}
		if hasValue {
			t.Operator, t.Value = "Equal", v
		}
		if err := components.ValidateToleration(t); err != nil || k == "" {
			msg := "each entry must be a toleration as key=value:Effect, key:Effect or key, like \"locust-eks/workers:NoSchedule\""
			if err != nil {
				msg += ": " + err.Error()
			}
			p.fail(key, quote(raw), msg)
			continue
		}
		out = append(out, t)
	}
	return out
}

func parseCIDR(s string) (netip.Prefix, bool) {
	prefix, err := netip.ParsePrefix(s)
	if err != nil || !prefix.Addr().Is4() || prefix.Masked() != prefix {
		return netip.Prefix{}, false
	}
	return prefix, true
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

// positiveAmount reads a decimal number above 0 and at most limit, like
// "1.50"; 0 when empty. Exponents and hex forms are refused: they are not
// what a person types for hours or dollars.
func (p *parser) positiveAmount(key string, limit float64, allowed string) float64 {
	raw := p.str(key)
	if raw == "" {
		return 0
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || v <= 0 || v > limit || strings.ContainsAny(raw, "eExXpP_") {
		p.fail(key, quote(raw), allowed)
		return 0
	}
	return v
}
