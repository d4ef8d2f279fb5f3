package components

import (
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestWebHostname: with a Hostname the UI's address is that name (the one
// a certificate can hold), and the load balancer's own name, which the
// service controller writes into the Service's status, is handed out as
// the CNAME's target; without one, the address is the load balancer's name.
func TestWebHostname(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lb                     *WebLoadBalancer
		address, loadBalancers string
	}{
		{"ACM certificate and a name", &WebLoadBalancer{CertificateARN: testACMCertificate, Hostname: "locust.example.com"},
			"https://locust.example.com/", testLoadBalancerName},
		{"plain and a name", &WebLoadBalancer{Hostname: "locust.example.com"}, "http://locust.example.com/", testLoadBalancerName},
		{"ACM certificate, no name", &WebLoadBalancer{CertificateARN: testACMCertificate}, "https://" + testLoadBalancerName + "/", testLoadBalancerName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := exposedArgs(t, &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: tc.lb})
			var address, target any
			err := pulumimock.Run("project", "test", nil, nil, exposureMonitor(), func(ctx *pulumi.Context) error {
				p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
				if err != nil {
					return err
				}
				c, err := NewLocustCluster(ctx, "loadtest", args, pulumi.Provider(p))
				if err != nil {
					return err
				}
				if address, err = pulumimock.Await(ctx.Context(), c.WebAddress); err != nil {
					return err
				}
				target, err = pulumimock.Await(ctx.Context(), c.WebLoadBalancerHostname)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if address != tc.address || target != tc.loadBalancers {
				t.Errorf("webAddress %v, webLoadBalancerHostname %v; want %s, %s", address, target, tc.address, tc.loadBalancers)
			}
		})
	}
}
