package components

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Where the pods go, what may disrupt them, and who may talk to them.

func TestPlacementPerRole(t *testing.T) {
	args := testArgs(t)
	args.NodeSelector = map[string]string{"kubernetes.io/os": "linux", "pool": "shared"}
	args.Master = Placement{NodeSelector: map[string]string{"pool": "system"}}
	args.Worker = Placement{
		NodeSelector: map[string]string{"pool": "workers"},
		Tolerations:  []Toleration{{Key: "locust-eks/workers", Operator: "Exists", Effect: "NoSchedule"}},
	}
	r := deploy(t, "loadtest", args)
	for _, tc := range []struct {
		role string
		sel  map[string]string
		tols int
	}{
		{"master", map[string]string{"kubernetes.io/os": "linux", "pool": "system"}, 0},
		{"worker", map[string]string{"kubernetes.io/os": "linux", "pool": "workers"}, 1},
	} {
		d := r.master
		if tc.role == "worker" {
			d = r.worker
		}
		spec := d.Spec.Template.Spec
		if got, _ := json.Marshal(spec.NodeSelector); string(got) != mustJSON(t, tc.sel) {
			t.Errorf("%s node selector %s, want %s", tc.role, got, mustJSON(t, tc.sel))
		}
		if len(spec.Tolerations) != tc.tols {
			t.Errorf("%s tolerations %v, want %d", tc.role, spec.Tolerations, tc.tols)
		}
		if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != 30+StopTimeout {
			t.Errorf("%s grace period %v, want %d", tc.role, spec.TerminationGracePeriodSeconds, 30+StopTimeout)
		}
	}
	if tol := r.worker.Spec.Template.Spec.Tolerations; len(tol) == 1 && (tol[0].Key != "locust-eks/workers" || tol[0].Operator != "Exists" || tol[0].Effect != "NoSchedule") {
		t.Errorf("worker toleration %+v", tol[0])
	}
	if !slices.Contains(r.container("master").Args, "--stop-timeout=10") {
		t.Errorf("master args %v lack the stop timeout", r.container("master").Args)
	}
}

func TestDisruptionBudgets(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	for role, want := range map[string]any{"master": 0.0, "worker": "10%"} {
		res, ok := r.monitor.Get("kubernetes:policy/v1:PodDisruptionBudget", "loadtest-"+role)
		if !ok {
			t.Fatalf("no disruption budget for the %s", role)
		}
		spec := res.Object()["spec"].(map[string]any)
		if spec["maxUnavailable"] != want {
			t.Errorf("%s maxUnavailable %v, want %v", role, spec["maxUnavailable"], want)
		}
		sel := spec["selector"].(map[string]any)["matchLabels"].(map[string]any)
		if sel["app.kubernetes.io/component"] != role || sel["app.kubernetes.io/instance"] != "loadtest" {
			t.Errorf("%s budget selects %v", role, sel)
		}
	}
}

func TestNetworkPolicies(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	names := map[string]map[string]any{}
	for _, p := range r.monitor.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		names[p.Name] = p.Object()["spec"].(map[string]any)
	}
	deny := names["loadtest-deny-ingress"]
	if deny == nil || deny["ingress"] != nil || mustJSON(t, deny["policyTypes"]) != `["Ingress"]` {
		t.Errorf("deny-ingress policy %v", deny)
	}
	master := mustJSON(t, names["loadtest-master-ingress"])
	for _, want := range []string{`"port":5557`, `"app.kubernetes.io/component":"worker"`, `"port":8089`, `"podSelector":{}`} {
		if !strings.Contains(master, want) {
			t.Errorf("master ingress policy %s lacks %s", master, want)
		}
	}
	if _, ok := names["loadtest-egress"]; ok {
		t.Error("egress policy without EgressCIDRs; egress must stay open")
	}

	if strings.Contains(master, "namespaceSelector") {
		t.Errorf("master ingress lets in other namespaces without MetricsNamespaces: %s", master)
	}
	// Prometheus in "monitoring" may scrape the metrics port, nothing more.
	scraped := testArgs(t)
	scraped.MetricsNamespaces = []string{"monitoring"}
	withMetrics := mustJSON(t, deployMonitorSpec(t, scraped, "loadtest-master-ingress"))
	want := `{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["monitoring"]}]}}],"ports":[{"port":9646,"protocol":"TCP"}]}`
	if !strings.Contains(withMetrics, want) {
		t.Errorf("master ingress with MetricsNamespaces %s lacks %s", withMetrics, want)
	}

	args := testArgs(t)
	args.EgressCIDRs = []string{"10.20.0.0/16"}
	egress := mustJSON(t, deployMonitorSpec(t, args, "loadtest-egress"))
	for _, want := range []string{`"cidr":"10.20.0.0/16"`, `"port":53`, `"kube-dns"`, `"port":5557`} {
		if !strings.Contains(egress, want) {
			t.Errorf("egress policy %s lacks %s", egress, want)
		}
	}
}

// TestMasterScrapeAnnotations: the master pod, and only it, tells
// Prometheus where its metrics are: the metrics port, /metrics.
func TestMasterScrapeAnnotations(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	for role, want := range map[string]string{"master": `"prometheus.io/path":"/metrics","prometheus.io/port":"9646","prometheus.io/scrape":"true"`, "worker": ""} {
		d, ok := r.monitor.Get("kubernetes:apps/v1:Deployment", "loadtest-"+role)
		if !ok {
			t.Fatalf("no %s Deployment", role)
		}
		ann := mustJSON(t, d.Object()["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"])
		if want != "" && !strings.Contains(ann, want) || want == "" && strings.Contains(ann, "prometheus.io") {
			t.Errorf("%s pod annotations %s", role, ann)
		}
	}
}

func deployMonitorSpec(t *testing.T, args *LocustClusterArgs, name string) any {
	r := deploy(t, "loadtest", args)
	p, ok := r.monitor.Get("kubernetes:networking.k8s.io/v1:NetworkPolicy", name)
	if !ok {
		t.Fatalf("no NetworkPolicy %s", name)
	}
	return p.Object()["spec"]
}

func TestNamespaceEnforcesRestricted(t *testing.T) {
	r := deploy(t, "loadtest", testArgs(t))
	ns := r.monitor.OfType("kubernetes:core/v1:Namespace")[0].Object()
	labels := ns["metadata"].(map[string]any)["labels"].(map[string]any)
	if labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v; want the restricted Pod Security Standard enforced", labels)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
