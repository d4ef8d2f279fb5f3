// Package pulumimock runs Pulumi programs against Pulumi's mock resource
// monitor and records the resource graph they register, for tests.
//
// It answers for Kubernetes objects the way the Kubernetes provider would
// where programs depend on it (auto-naming, ids); tests add answers for other
// providers' resources through Monitor.NewResourceHook and CallHook.
package pulumimock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Resource is one registered resource, as the engine would see it.
type Resource struct {
	Type   string
	Name   string
	Custom bool
	Remote bool
	// Parent is the parent's URN; Provider the provider reference, "URN::ID".
	Parent   string
	Provider string
	Inputs   resource.PropertyMap
	// State is what the mock answered: the inputs plus provider-set fields.
	State resource.PropertyMap
	// Dependencies are the URNs the resource depends on (DependsOn and the
	// resources its inputs came from), as sent to the engine, which orders
	// creates by them and deletes in reverse.
	Dependencies []string
	// PropertyDependencies are, per input, the URNs its value came from.
	PropertyDependencies map[string][]string
	// RetainOnDelete is the resource option: deleting the resource only
	// drops it from the stack's state.
	RetainOnDelete bool
	// IgnoreChanges are the inputs whose changes the engine ignores after
	// the resource is created (the resource option).
	IgnoreChanges []string
}

// DependsOn reports whether the resource depends, directly, on a resource
// of type typ named name.
func (r Resource) DependsOn(typ, name string) bool {
	for _, urn := range r.Dependencies {
		if urnType(resource.URN(urn)) == typ && urnName(resource.URN(urn)) == name {
			return true
		}
	}
	return false
}

// ParentType is the type of the parent resource, "" for none.
func (r Resource) ParentType() string { return urnType(resource.URN(r.Parent)) }

// ParentName is the logical name of the parent resource, "" for none.
func (r Resource) ParentName() string { return urnName(resource.URN(r.Parent)) }

// ProviderType is the type of the explicit provider, like
// "pulumi:providers:kubernetes", or "" for the default provider.
func (r Resource) ProviderType() string { return urnType(providerURN(r.Provider)) }

// ProviderName is the logical name of the explicit provider.
func (r Resource) ProviderName() string { return urnName(providerURN(r.Provider)) }

func urnType(u resource.URN) string {
	if !u.IsValid() {
		return ""
	}
	return string(u.Type())
}

func urnName(u resource.URN) string {
	if !u.IsValid() {
		return ""
	}
	return u.Name()
}

// providerURN is the URN part of a provider reference "URN::ID".
func providerURN(ref string) resource.URN {
	i := strings.LastIndex(ref, "::")
	if i < 0 {
		return ""
	}
	return resource.URN(ref[:i])
}

// Object returns the resource's state as plain JSON-like Go values, with
// unknowns and secrets unwrapped as Mappable does.
func (r Resource) Object() map[string]any { return r.State.Mappable() }

// Decode unmarshals the resource's state into v through JSON, so tests can
// read it into typed structs.
func (r Resource) Decode(v any) error {
	b, err := json.Marshal(r.Object())
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Monitor implements pulumi.MockResourceMonitor and records every resource.
type Monitor struct {
	// NewResourceHook answers for a resource before the defaults do; handled
	// false falls through to them.
	NewResourceHook func(args pulumi.MockResourceArgs) (id string, state resource.PropertyMap, handled bool, err error)
	// CallHook answers provider function calls (invokes).
	CallHook func(args pulumi.MockCallArgs) (resource.PropertyMap, error)

	mu        sync.Mutex
	resources []Resource
}

// NewResource records the resource and answers with its state.
func (m *Monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, handled, err := "", resource.PropertyMap(nil), false, error(nil)
	if m.NewResourceHook != nil {
		id, state, handled, err = m.NewResourceHook(args)
		if err != nil {
			return "", nil, err
		}
	}
	if !handled {
		id, state = defaultState(args)
	}
	r := Resource{
		Type:   args.TypeToken,
		Name:   args.Name,
		Custom: args.Custom,
		Inputs: args.Inputs,
		State:  state,
	}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent, r.Provider, r.Remote = rpc.GetParent(), rpc.GetProvider(), rpc.GetRemote()
		r.Dependencies = rpc.GetDependencies()
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.PropertyDependencies = map[string][]string{}
		for k, deps := range rpc.GetPropertyDependencies() {
			r.PropertyDependencies[k] = deps.GetUrns()
		}
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return id, state, nil
}

// Call answers invokes through CallHook.
func (m *Monitor) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if m.CallHook == nil {
		return nil, fmt.Errorf("pulumimock: no answer for call %s", args.Token)
	}
	return m.CallHook(args)
}

// Resources returns every recorded resource, in registration order.
func (m *Monitor) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Resource(nil), m.resources...)
}

// OfType returns the recorded resources of one type.
func (m *Monitor) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Get returns the resource of that type and logical name, or false.
func (m *Monitor) Get(typ, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// defaultState answers like a provider that echoes its inputs. Kubernetes
// objects without metadata.name get a name the way the provider auto-names
// them: the logical name plus a suffix, new whenever the content changes.
func defaultState(args pulumi.MockResourceArgs) (string, resource.PropertyMap) {
	state := args.Inputs.Copy()
	if !args.Custom {
		return "", state
	}
	id := args.Name + "_id"
	if strings.HasPrefix(args.TypeToken, "kubernetes:") {
		meta := resource.PropertyMap{}
		if v, ok := state["metadata"]; ok && v.IsObject() {
			meta = v.ObjectValue().Copy()
		}
		if v, ok := meta["name"]; !ok || !v.IsString() || v.StringValue() == "" {
			meta["name"] = resource.NewProperty(args.Name + "-" + contentHash(args.Inputs))
		}
		state["metadata"] = resource.NewProperty(meta)
		id = meta["name"].StringValue()
		if ns, ok := meta["namespace"]; ok && ns.IsString() && ns.StringValue() != "" {
			id = ns.StringValue() + "/" + id
		}
	}
	return id, state
}

func contentHash(inputs resource.PropertyMap) string {
	b, _ := json.Marshal(inputs.Mappable())
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

// Run runs program against m as stack of project, with the given config;
// the keys in secretKeys are stored encrypted, as `pulumi config set
// --secret` would. Keys without a namespace get the project's. It sets
// PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS, so tests that use it cannot
// run in parallel.
func Run(project, stack string, config map[string]string, secretKeys []string, m *Monitor, program pulumi.RunFunc) error {
	namespaced := func(k string) string {
		if !strings.Contains(k, ":") {
			return project + ":" + k
		}
		return k
	}
	full := make(map[string]string, len(config))
	for k, v := range config {
		full[namespaced(k)] = v
	}
	secrets := make([]string, len(secretKeys))
	for i, k := range secretKeys {
		secrets[i] = namespaced(k)
	}
	for name, value := range map[string]any{pulumi.EnvConfig: full, pulumi.EnvConfigSecretKeys: secrets} {
		b, err := json.Marshal(value)
		if err != nil {
			return err
		}
		old, had := os.LookupEnv(name)
		os.Setenv(name, string(b))
		defer func() {
			if had {
				os.Setenv(name, old)
			} else {
				os.Unsetenv(name)
			}
		}()
	}
	return pulumi.RunErr(program, pulumi.WithMocks(project, stack, m))
}

// Await returns the value of an output inside a running program, or an error
// if it failed or is unknown.
func Await(ctx context.Context, o pulumi.Output) (any, error) {
	v, _, err := AwaitSecret(ctx, o)
	return v, err
}

// AwaitSecret is Await that also tells whether the output is a secret.
func AwaitSecret(ctx context.Context, o pulumi.Output) (value any, secret bool, err error) {
	res, err := internals.UnsafeAwaitOutput(ctx, o)
	if err != nil {
		return nil, false, err
	}
	if !res.Known {
		return nil, false, fmt.Errorf("output is unknown")
	}
	return res.Value, res.Secret, nil
}
