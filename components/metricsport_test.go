package components

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestMetricsPortStaysInside: the master serves /metrics on MetricsPort,
// which its ClusterIP Service, the ServiceMonitor and the NetworkPolicy's
// own-namespace and metrics-namespace rules reach, and which no exposure
// forwards: no port of the load balancer Service, no Ingress backend and no
// rule letting in the exposure's clients (source ranges, the controller's
// namespace) names it. The scrape annotations point at it, unless a
// ServiceMonitor is made; it speaks plain HTTP whatever the web port does,
// so both work with Locust's own TLS.
func TestMetricsPortStaysInside(t *testing.T) {
	key := pulumi.ToSecret(pulumi.String("a key")).(pulumi.StringOutput)
	for _, tc := range []struct {
		name     string
		exposure *WebExposure
		monitor  bool
		// annotated: the master pod carries prometheus.io/scrape.
		annotated bool
	}{
		{name: "private", annotated: true},
		{name: "private, ServiceMonitor", monitor: true},
		{name: "internal NLB in plain text", annotated: true,
			exposure: &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}}},
		{name: "internet-facing NLB with ACM, ServiceMonitor", monitor: true,
			exposure: &WebExposure{SourceRanges: []string{"203.0.113.0/24"}, LoadBalancer: &WebLoadBalancer{InternetFacing: true, CertificateARN: testACMCertificate}}},
		{name: "NLB passing TCP to Locust's own TLS", annotated: true,
			exposure: &WebExposure{SourceRanges: []string{"10.0.0.0/8"}, LoadBalancer: &WebLoadBalancer{TLS: &WebTLS{CertificatePEM: testCertificate, KeyPEM: key}}}},
		{name: "Locust's own TLS, ServiceMonitor", monitor: true,
			exposure: &WebExposure{SourceRanges: []string{"10.0.0.0/8"}, LoadBalancer: &WebLoadBalancer{TLS: &WebTLS{CertificatePEM: testCertificate, KeyPEM: key}}}},
		{name: "nginx Ingress on a sub-path", annotated: true,
			exposure: &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx", TLSSecret: "tls"}}},
		{name: "ALB Ingress with source ranges, ServiceMonitor", monitor: true,
			exposure: &WebExposure{SourceRanges: []string{"198.51.100.0/24"}, Ingress: &WebIngress{ClassName: "alb", Path: "/",
				Annotations: map[string]string{ALBCertificateAnnotation: testACMCertificate}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := testArgs(t)
			if tc.exposure != nil {
				args = exposedArgs(t, tc.exposure)
			}
			args.MetricsNamespaces = []string{"monitoring"}
			if tc.monitor {
				args.ServiceMonitor = &ServiceMonitor{}
			}
			m, _ := deployExposed(t, args)

			svc := object(t, m, "kubernetes:core/v1:Service", "loadtest-master")
			if !hasServicePort(svc, "metrics", MetricsPort, "metrics") {
				t.Errorf("the master Service's ports %v lack metrics %d", field(svc, "spec", "ports"), MetricsPort)
			}
			master := object(t, m, "kubernetes:apps/v1:Deployment", "loadtest-master")
			container := field(master, "spec", "template", "spec", "containers", 0)
			if !hasContainerPort(container, "metrics", MetricsPort) || !slices.Contains(stringsOf(field(container, "args")), metricsPortOption+"="+strconv.Itoa(MetricsPort)) {
				t.Errorf("the master container's ports %v and args %v do not serve metrics on %d", field(container, "ports"), field(container, "args"), MetricsPort)
			}

			annotations, _ := field(master, "spec", "template", "metadata", "annotations").(map[string]any)
			if _, got := annotations["prometheus.io/scrape"]; got != tc.annotated {
				t.Errorf("prometheus.io/scrape present: %v, want %v (annotations %v)", got, tc.annotated, annotations)
			}
			if tc.annotated && (annotations["prometheus.io/port"] != strconv.Itoa(MetricsPort) || annotations["prometheus.io/path"] != MetricsPath || annotations["prometheus.io/scheme"] != nil) {
				t.Errorf("scrape annotations %v; want port %d, path %s, no scheme", annotations, MetricsPort, MetricsPath)
			}

			sm, made := m.Get("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "loadtest-master")
			if made != tc.monitor {
				t.Fatalf("ServiceMonitor made: %v, want %v", made, tc.monitor)
			}
			if made {
				ep := field(sm.Object(), "spec", "endpoints", 0)
				if field(ep, "port") != "metrics" || field(ep, "path") != MetricsPath || field(ep, "interval") != "15s" || field(sm.Object(), "spec", "endpoints", 1) != nil {
					t.Errorf("ServiceMonitor endpoints %v; want the metrics port, %s, every 15s", field(sm.Object(), "spec", "endpoints"), MetricsPath)
				}
			}

			checkMetricsRules(t, object(t, m, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "loadtest-master-ingress"))
			if tc.exposure == nil {
				return
			}
			if tc.exposure.LoadBalancer != nil {
				web := object(t, m, "kubernetes:core/v1:Service", "loadtest-web")
				for _, p := range field(web, "spec", "ports").([]any) {
					if field(p, "targetPort") != "web" {
						t.Errorf("the load balancer Service forwards %v", p)
					}
				}
			} else {
				ing := object(t, m, "kubernetes:networking.k8s.io/v1:Ingress", "loadtest-web")
				for _, path := range field(ing, "spec", "rules", 0, "http", "paths").([]any) {
					if field(path, "backend", "service", "port", "name") != "web" || field(path, "backend", "service", "port", "number") != nil {
						t.Errorf("the Ingress forwards to %v", field(path, "backend"))
					}
				}
			}
		})
	}
}

// checkMetricsRules: in the master's NetworkPolicy the metrics port is let
// in from this namespace's pods and the metrics namespaces only, and the
// exposure's clients reach the web port only.
func checkMetricsRules(t *testing.T, policy map[string]any) {
	t.Helper()
	own, monitoring := false, false
	for _, rule := range field(policy, "spec", "ingress").([]any) {
		var ports []float64
		for _, p := range field(rule, "ports").([]any) {
			ports = append(ports, field(p, "port").(float64))
		}
		for _, peer := range field(rule, "from").([]any) {
			b, _ := json.Marshal(peer)
			// The exposure's peers, as webClients writes them: its source
			// ranges and the ingress controller's namespace by name.
			exposure := field(peer, "ipBlock") != nil || field(peer, "namespaceSelector", "matchLabels") != nil
			switch s := string(b); {
			case exposure && (len(ports) != 1 || ports[0] != WebPort):
				t.Errorf("the exposure's clients %s reach ports %v; want the web port only", s, ports)
			case !slices.Contains(ports, MetricsPort):
			case s == `{"podSelector":{}}`:
				own = true
			case s == `{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["monitoring"]}]}}`:
				monitoring = true
				if len(ports) != 1 {
					t.Errorf("the metrics namespaces reach ports %v; want the metrics port only", ports)
				}
			default:
				t.Errorf("%s reaches the metrics port", s)
			}
		}
	}
	if !own || !monitoring {
		t.Errorf("the metrics port is let in from this namespace: %v, from the metrics namespaces: %v; want both (%v)", own, monitoring, field(policy, "spec", "ingress"))
	}
}

func hasServicePort(svc map[string]any, name string, port int, target string) bool {
	for _, p := range field(svc, "spec", "ports").([]any) {
		if field(p, "name") == name && field(p, "port") == float64(port) && field(p, "targetPort") == target {
			return true
		}
	}
	return false
}

func hasContainerPort(container any, name string, port int) bool {
	for _, p := range field(container, "ports").([]any) {
		if field(p, "name") == name && field(p, "containerPort") == float64(port) {
			return true
		}
	}
	return false
}

func stringsOf(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
