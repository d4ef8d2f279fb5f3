package components

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// renderedShards is what one LocustCluster of several shards registered,
// with its shard outputs.
type renderedShards struct {
	monitor *pulumimock.Monitor
	outputs map[string]any
}

func deployShards(t *testing.T, args *LocustClusterArgs) renderedShards {
	t.Helper()
	r := renderedShards{monitor: &pulumimock.Monitor{}, outputs: map[string]any{}}
	err := pulumimock.Run("project", "test", nil, nil, r.monitor, func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		c, err := NewLocustCluster(ctx, "loadtest", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		for key, out := range map[string]pulumi.Output{
			"shards": c.ShardCount, "shardMasterServiceNames": c.ShardMasterServiceNames, "shardWorkers": c.ShardWorkers,
			"workers": c.Workers, "masterServiceName": c.MasterServiceName, "masterAddress": c.MasterAddress,
		} {
			if r.outputs[key], err = pulumimock.Await(ctx.Context(), out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// selectorOf reads a label selector (matchLabels and matchExpressions) at
// path in a decoded object, as the API server would apply it.
func selectorOf(t *testing.T, obj map[string]any, path ...any) labels.Selector {
	t.Helper()
	b, err := json.Marshal(field(obj, path...))
	if err != nil {
		t.Fatal(err)
	}
	var ls metav1.LabelSelector
	if err := json.Unmarshal(b, &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0 {
		t.Fatalf("no selector at %v: %s", path, b)
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// labelsOf reads a label map at path in a decoded object.
func labelsOf(obj map[string]any, path ...any) labels.Set {
	set := labels.Set{}
	m, _ := field(obj, path...).(map[string]any)
	for k, v := range m {
		set[k], _ = v.(string)
	}
	return set
}

// TestShards: N shards render N masters, Services and worker Deployments
// from one component, the workers split as evenly as possible with shard
// 0 keeping the names it always had; each shard's workers point at their
// own master's Service; every Service, Deployment and disruption budget
// selects its own shard's pods of its role and no other's; each master is
// sized for its own workers; the NetworkPolicies and the ServiceMonitor
// stay one set and cover every shard.
func TestShards(t *testing.T) {
	for _, tc := range []struct {
		shards, workers int
		split           []int
	}{
		{1, 3, []int{3}},
		{2, 2, []int{1, 1}},
		{3, 7, []int{3, 2, 2}},
		{4, 2001, []int{501, 500, 500, 500}},
	} {
		t.Run(fmt.Sprintf("%d shards, %d workers", tc.shards, tc.workers), func(t *testing.T) {
			args := testArgs(t)
			args.Shards, args.Workers = tc.shards, tc.workers
			args.EgressCIDRs = []string{"10.0.0.0/16"}
			args.ServiceMonitor = &ServiceMonitor{}
			r := deployShards(t, args)
			m := r.monitor

			names, sum := []string{}, 0
			type pod struct {
				shard int
				role  string
				set   labels.Set
			}
			var pods []pod
			for i := range tc.shards {
				prefix := "loadtest"
				if i > 0 {
					prefix = fmt.Sprintf("loadtest-%d", i)
				}
				names = append(names, prefix+"-master")
				for _, role := range []string{"master", "worker"} {
					d := object(t, m, "kubernetes:apps/v1:Deployment", prefix+"-"+role)
					if got := field(d, "metadata", "name"); got != prefix+"-"+role {
						t.Errorf("shard %d %s Deployment is named %v, want %s", i, role, got, prefix+"-"+role)
					}
					pods = append(pods, pod{i, role, labelsOf(d, "spec", "template", "metadata", "labels")})
				}
				worker := object(t, m, "kubernetes:apps/v1:Deployment", prefix+"-worker")
				replicas := int(field(worker, "spec", "replicas").(float64))
				if replicas != tc.split[i] {
					t.Errorf("shard %d has %d workers, want %d", i, replicas, tc.split[i])
				}
				sum += replicas
				if host := envValue(field(worker, "spec", "template", "spec", "containers", 0), "LOCUST_MASTER_NODE_HOST"); host != prefix+"-master.locust.svc" {
					t.Errorf("shard %d's workers reach the master at %q, want their own Service %s-master.locust.svc", i, host, prefix)
				}
				master := object(t, m, "kubernetes:apps/v1:Deployment", prefix+"-master")
				sized := MasterResourcesFor(tc.split[i])
				requests := field(master, "spec", "template", "spec", "containers", 0, "resources", "requests")
				if want := map[string]any{"cpu": sized.CPURequest, "memory": sized.MemoryRequest}; fmt.Sprint(requests) != fmt.Sprint(want) {
					t.Errorf("shard %d master requests %v, want %v (sized for its %d workers)", i, requests, want, tc.split[i])
				}
			}
			if sum != tc.workers {
				t.Errorf("the shards' workers add up to %d, want %d", sum, tc.workers)
			}

			// Every selector of a shard's own objects picks exactly its
			// own pods of its role.
			for i := range tc.shards {
				prefix := strings.TrimSuffix(names[i], "-master")
				selectors := map[string]labels.Selector{
					"master Service": labels.SelectorFromSet(labelsOf(object(t, m, "kubernetes:core/v1:Service", names[i]), "spec", "selector")),
				}
				for _, role := range []string{"master", "worker"} {
					selectors[role+" Deployment"] = selectorOf(t, object(t, m, "kubernetes:apps/v1:Deployment", prefix+"-"+role), "spec", "selector")
					selectors[role+" disruption budget"] = selectorOf(t, object(t, m, "kubernetes:policy/v1:PodDisruptionBudget", prefix+"-"+role), "spec", "selector")
				}
				selectors["worker spread"] = selectorOf(t, object(t, m, "kubernetes:apps/v1:Deployment", prefix+"-worker"), "spec", "template", "spec", "topologySpreadConstraints", 0, "labelSelector")
				for what, sel := range selectors {
					role := map[bool]string{true: "master", false: "worker"}[strings.HasPrefix(what, "master")]
					for _, p := range pods {
						if want := p.shard == i && p.role == role; sel.Matches(p.set) != want {
							t.Errorf("shard %d's %s (%s) matches shard %d's %s pods: %v, want %v", i, what, sel, p.shard, p.role, !want, want)
						}
					}
				}
			}

			// One set of policies, whatever the shards, covering them all.
			if n := len(m.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy")); n != 3 {
				t.Errorf("%d NetworkPolicies, want 3 (deny-ingress, master-ingress, egress)", n)
			}
			deny := object(t, m, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "loadtest-deny-ingress")
			ingress := object(t, m, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "loadtest-master-ingress")
			egress := object(t, m, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "loadtest-egress")
			covers := map[string]struct {
				sel  labels.Selector
				role string // "" for every pod
			}{
				"deny-ingress":               {selectorOf(t, deny, "spec", "podSelector"), ""},
				"egress":                     {selectorOf(t, egress, "spec", "podSelector"), ""},
				"master-ingress":             {selectorOf(t, ingress, "spec", "podSelector"), "master"},
				"master-ingress from":        {selectorOf(t, ingress, "spec", "ingress", 0, "from", 0, "podSelector"), "worker"},
				"egress to the master":       {selectorOf(t, egress, "spec", "egress", 1, "to", 0, "podSelector"), "master"},
				"ServiceMonitor (by labels)": {selectorOf(t, object(t, m, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "loadtest-master"), "spec", "selector"), "master"},
			}
			for what, c := range covers {
				for _, p := range pods {
					if want := c.role == "" || c.role == p.role; c.sel.Matches(p.set) != want {
						t.Errorf("%s (%s) matches shard %d's %s pods: %v, want %v", what, c.sel, p.shard, p.role, !want, want)
					}
				}
			}
			for _, typ := range []string{"kubernetes:core/v1:Namespace", "kubernetes:core/v1:ConfigMap", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"} {
				if n := len(m.OfType(typ)); n != 1 {
					t.Errorf("%d of %s, want 1 shared by the shards", n, typ)
				}
			}
			if n := len(m.OfType("kubernetes:core/v1:Service")); n != tc.shards {
				t.Errorf("%d Services, want one per shard (%d)", n, tc.shards)
			}

			if got := r.outputs["shards"]; got != float64(tc.shards) && got != tc.shards {
				t.Errorf("shards output %v, want %d", got, tc.shards)
			}
			if got := fmt.Sprint(r.outputs["shardMasterServiceNames"]); got != fmt.Sprint(names) {
				t.Errorf("shardMasterServiceNames %s, want %v", got, names)
			}
			if got := fmt.Sprint(r.outputs["shardWorkers"]); got != fmt.Sprint(tc.split) {
				t.Errorf("shardWorkers %s, want %v", got, tc.split)
			}
			if r.outputs["masterServiceName"] != "loadtest-master" || r.outputs["masterAddress"] != "loadtest-master.locust.svc" {
				t.Errorf("masterServiceName %v, masterAddress %v, want shard 0's", r.outputs["masterServiceName"], r.outputs["masterAddress"])
			}
			if got := r.outputs["workers"]; got != float64(tc.workers) && got != tc.workers {
				t.Errorf("workers output %v, want the total %d", got, tc.workers)
			}
		})
	}
}

// envValue is the value of a container's environment variable name.
func envValue(container any, name string) string {
	env, _ := field(container, "env").([]any)
	for _, e := range env {
		if field(e, "name") == name {
			v, _ := field(e, "value").(string)
			return v
		}
	}
	return ""
}

// TestShardMasterResources: given resources go to every shard's master,
// per-shard ones to their own shard, and without either each master is
// sized for its own workers.
func TestShardMasterResources(t *testing.T) {
	given := Resources{CPURequest: "600m", MemoryRequest: "700Mi"}
	perShard := []Resources{{CPURequest: "700m", MemoryRequest: "800Mi"}, {CPURequest: "300m", MemoryRequest: "600Mi"}}
	for _, tc := range []struct {
		name     string
		all      *Resources
		perShard []Resources
		want     []Resources
	}{
		{"sized", nil, nil, []Resources{MasterResourcesFor(1000), MasterResourcesFor(999)}},
		{"given for all", &given, nil, []Resources{given, given}},
		{"given per shard", &given, perShard, perShard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := testArgs(t)
			args.Shards, args.Workers = 2, 1999
			args.MasterResources, args.ShardMasterResources = tc.all, tc.perShard
			m := deployShards(t, args).monitor
			for i, name := range []string{"loadtest-master", "loadtest-1-master"} {
				requests := field(object(t, m, "kubernetes:apps/v1:Deployment", name), "spec", "template", "spec", "containers", 0, "resources", "requests")
				if want := map[string]any{"cpu": tc.want[i].CPURequest, "memory": tc.want[i].MemoryRequest}; fmt.Sprint(requests) != fmt.Sprint(want) {
					t.Errorf("shard %d master requests %v, want %v", i, requests, want)
				}
			}
		})
	}
}

// TestShardsRefused: what a cluster of shards cannot be is refused before
// any object is registered, saying why.
func TestShardsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(a *LocustClusterArgs)
		want string
	}{
		{"negative shards", func(a *LocustClusterArgs) { a.Shards = -1 }, "Shards is -1"},
		{"fewer workers than shards", func(a *LocustClusterArgs) { a.Workers, a.Shards = 2, 3 }, "Workers is 2, fewer than Shards 3"},
		{"per-shard resources of another count", func(a *LocustClusterArgs) {
			a.Shards, a.ShardMasterResources = 2, []Resources{MasterResourcesFor(1)}
		}, "ShardMasterResources holds 1 entries; it must hold one per shard (2)"},
		{"a shard's resources invalid", func(a *LocustClusterArgs) {
			a.Shards, a.ShardMasterResources = 2, []Resources{MasterResourcesFor(1), {CPURequest: "1", CPULimit: "500m"}}
		}, "shard 1 master resources: cpu limit 500m is below the request 1"},
		{"exposure with shards", func(a *LocustClusterArgs) {
			a.WebLogin = &WebLogin{Username: "team", Password: pulumi.ToSecret(pulumi.String(testWebPassword)).(pulumi.StringOutput)}
			a.WebExposure = &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}
			a.Shards = 2
		}, "WebExposure opens one master's web UI, and Shards is 2"},
		{"a shard's name too long", func(a *LocustClusterArgs) { a.Shards, a.Workers = 11, 11 }, "shard 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := testArgs(t)
			tc.edit(args)
			name := "loadtest"
			if tc.name == "a shard's name too long" {
				name = "l" + strings.Repeat("o", 53) // 54 + "-9-master" is 63, a DNS label's most
			}
			m := &pulumimock.Monitor{}
			err := pulumimock.Run("project", "test", nil, nil, m, func(ctx *pulumi.Context) error {
				_, err := NewLocustCluster(ctx, name, args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources registered before the refusal", n)
			}
			if tc.name == "a shard's name too long" {
				args.Shards, args.Workers = 10, 10
				if err := pulumimock.Run("project", "test", nil, nil, &pulumimock.Monitor{}, func(ctx *pulumi.Context) error {
					_, err := NewLocustCluster(ctx, name, args)
					return err
				}); err != nil {
					t.Errorf("10 shards, whose last is %s-9-master (63 characters), refused: %v", name, err)
				}
			}
		})
	}
}
