package components

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// updateGoldenEnv, set to 1, rewrites the golden renderings instead of
// comparing with them.
const updateGoldenEnv = "LOCUST_EKS_UPDATE_GOLDEN"

// TestOneShardRendersAsBefore: a LocustCluster of one shard registers
// exactly the objects the component registered before shards existed, with
// the same Pulumi names, parents, dependencies and inputs (names, labels,
// selectors, pod templates), so that an existing stack's up changes
// nothing. The goldens in testdata/ were taken from the code before shards
// (commit 'Golden renderings of today's LocustCluster'). The locustfiles'
// and the plugin's contents are left out of the comparison (their names are
// kept): they change on their own, and move the checksum annotation and the
// ConfigMap's generated name with them.
func TestOneShardRendersAsBefore(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   func(t *testing.T) *LocustClusterArgs
	}{
		{"default", testArgs},
		{"everything-private", func(t *testing.T) *LocustClusterArgs {
			a := loginArgs(t, "locustio/locust:2.46.7")
			a.Workers = 40
			a.Env = []EnvVar{{Name: "LOCUST_TAGS", Value: pulumi.String("checkout")}}
			a.SecretEnv = []EnvVar{{Name: "API_TOKEN", Value: pulumi.ToSecret(pulumi.String("t0ken")).(pulumi.StringOutput)}}
			a.EgressCIDRs = []string{"10.0.0.0/16"}
			a.MetricsNamespaces = []string{"monitoring"}
			a.ServiceMonitor = &ServiceMonitor{Labels: map[string]string{"release": "kps"}}
			a.NodeSelector = map[string]string{"pool": "locust"}
			a.Worker = Placement{Tolerations: []Toleration{{Key: "locust-eks/workers", Operator: "Equal", Value: "true", Effect: "NoSchedule"}}}
			a.MasterResources = &Resources{CPURequest: "500m", MemoryRequest: "768Mi", MemoryLimit: "1Gi"}
			a.WorkerResources = &Resources{CPURequest: "900m", MemoryRequest: "512Mi"}
			return a
		}},
		{"load-balancer", func(t *testing.T) *LocustClusterArgs {
			return exposedArgs(t, &WebExposure{SourceRanges: []string{"203.0.113.0/24"}, LoadBalancer: &WebLoadBalancer{InternetFacing: true, CertificateARN: testACMCertificate}})
		}},
		{"ingress", func(t *testing.T) *LocustClusterArgs {
			return exposedArgs(t, &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx", TLSSecret: "tls"}})
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got := renderedGraph(t, tc.args(t))
			path := filepath.Join("testdata", "one-shard-"+tc.golden+".json")
			if os.Getenv(updateGoldenEnv) == "1" {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the rendering differs from %s:\n%s", path, firstDifference(string(want), string(got)))
			}
		})
	}
}

// generatedName is a name the provider generates from an object's content
// (pulumimock's contentHash: 8 hex digits after the logical name).
var generatedName = regexp.MustCompile(`("loadtest-[a-z0-9-]*?)-[0-9a-f]{8}"`)

// renderedGraph is every object one LocustCluster named loadtest registers,
// as indented JSON: type, name, parent, dependencies and inputs, sorted by
// type and name (the mock monitor records them in the order their inputs
// resolve, which varies).
func renderedGraph(t *testing.T, args *LocustClusterArgs) []byte {
	t.Helper()
	m := exposureMonitor()
	err := pulumimock.Run("project", "test", nil, nil, m, func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		_, err = NewLocustCluster(ctx, "loadtest", args, pulumi.Provider(p))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Type, Name, Parent string
		DependsOn          []string
		Inputs             map[string]any
	}
	var graph []entry
	for _, r := range m.Resources() {
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		e := entry{Type: r.Type, Name: r.Name, Parent: r.ParentType() + "::" + r.ParentName(), Inputs: r.Inputs.Mappable()}
		for _, urn := range r.Dependencies {
			e.DependsOn = append(e.DependsOn, urn[strings.LastIndex(urn, "$")+1:])
		}
		if data, ok := e.Inputs["data"].(map[string]any); ok && r.Type == "kubernetes:core/v1:ConfigMap" {
			for name := range data {
				data[name] = "(content not compared)"
			}
		}
		slices.Sort(e.DependsOn)
		graph = append(graph, e)
	}
	slices.SortFunc(graph, func(a, b entry) int { return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name)) })
	b, err := json.MarshalIndent(graph, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`("locust-eks/locustfiles-sha256": )"[0-9a-f]{64}"`).ReplaceAll(b, []byte(`$1"(checksum not compared)"`))
	return append(generatedName.ReplaceAll(b, []byte(`$1-(generated)"`)), '\n')
}

// firstDifference shows the first line where got departs from want, with
// a few lines of context.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			from := max(0, i-6)
			return "want:\n" + strings.Join(w[from:min(len(w), i+3)], "\n") + "\ngot:\n" + strings.Join(g[from:min(len(g), i+3)], "\n")
		}
	}
	return ""
}
