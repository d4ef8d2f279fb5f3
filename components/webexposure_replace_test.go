package components

import (
	"slices"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestWebLoadBalancerSchemeReplaces: the service controller never changes
// an existing NLB's scheme (cloud-provider-aws aws_loadbalancer.go marks
// that sync as still to do), so the web Service asks the engine to
// replace it, deleting first, when either scheme annotation changes.
func TestWebLoadBalancerSchemeReplaces(t *testing.T) {
	for _, tc := range []struct {
		name string
		lb   *WebLoadBalancer
	}{
		{"internal", &WebLoadBalancer{}},
		{"internet-facing", &WebLoadBalancer{InternetFacing: true, CertificateARN: testACMCertificate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var replaceOn []string
			var deleteFirst, seen bool
			m := &pulumimock.Monitor{NewResourceHook: func(a pulumi.MockResourceArgs) (string, resource.PropertyMap, bool, error) {
				if a.TypeToken == "kubernetes:core/v1:Service" && a.Name == "loadtest-web" && a.RegisterRPC != nil {
					seen = true
					replaceOn = a.RegisterRPC.GetReplaceOnChanges()
					deleteFirst = a.RegisterRPC.GetDeleteBeforeReplace()
				}
				return "", nil, false, nil
			}}
			args := exposedArgs(t, &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: tc.lb})
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
			if !seen {
				t.Fatal("no web Service registered")
			}
			for _, key := range []string{upstreamLBScheme, upstreamLBInternal} {
				if path := `metadata.annotations["` + key + `"]`; !slices.Contains(replaceOn, path) {
					t.Errorf("replaceOnChanges %q lacks %s: a scheme change would patch the Service and keep the old NLB", replaceOn, path)
				}
			}
			if !deleteFirst {
				t.Error("deleteBeforeReplace is off: the replacement's fixed name would collide with the old Service")
			}
		})
	}
}
