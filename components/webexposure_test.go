package components

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/pulumimock"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// testCertificate is a self-signed certificate (openssl req -x509 -newkey
// ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=locust.example.com
// -days 3650), for the checks that parse one.
const testCertificate = `-----BEGIN CERTIFICATE-----
MIIBjzCCATWgAwIBAgIUBD7NMYHE9AKxlWwOPXdmy8Tj7GwwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSbG9jdXN0LmV4YW1wbGUuY29tMB4XDTI2MTIwMjE4MzI0OVoX
DTM2MTEyOTE4MzI0OVowHTEbMBkGA1UEAwwSbG9jdXN0LmV4YW1wbGUuY29tMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElzkiVo6UR+LZe71eC4g1rlLj/9cmj5H7
UsHTX+h1acCsoCE5rdjraJJAENkbmZr6aCeIig/9uFZL5IMdzcXsJqNTMFEwHQYD
VR0OBBYEFOuPWf+HjAeMikm8M5+4SaMa6rXkMB8GA1UdIwQYMBaAFOuPWf+HjAeM
ikm8M5+4SaMa6rXkMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh
AMLPkDEX0N/phFLLeKAThfkkSfRJbHAcjOpoxoJNWoqJAiAnlhXLyIPbdfvVWdu0
ERSeuAmKQoUA8JkKNlBfRAY+Cg==
-----END CERTIFICATE-----
`

// Annotation keys of the service controller EKS runs, as
// kubernetes/cloud-provider-aws defines them (pkg/providers/v1/aws.go:
// ServiceAnnotationLoadBalancerType, ...Internal, ...CertificateARN,
// ...SSLPorts) and the AWS Load Balancer Controller's scheme
// (docs/guide/service/annotations.md).
const (
	upstreamLBType     = "service.beta.kubernetes.io/aws-load-balancer-type"
	upstreamLBInternal = "service.beta.kubernetes.io/aws-load-balancer-internal"
	upstreamLBCert     = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	upstreamLBSSLPorts = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
	upstreamLBScheme   = "service.beta.kubernetes.io/aws-load-balancer-scheme"
)

const testACMCertificate = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

// object is a rendered object's fields, as JSON would have them.
func object(t *testing.T, r *pulumimock.Monitor, typ, name string) map[string]any {
	t.Helper()
	res, ok := r.Get(typ, name)
	if !ok {
		t.Fatalf("no %s %s", typ, name)
	}
	var m map[string]any
	if err := res.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// field walks a decoded object by keys and list indexes.
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// deployExposed renders args and, like cloud-provider-aws once the NLB is
// provisioning (aws.go: ingress.Hostname = aws.ToString(lb.DNSName)),
// answers the web Service with its load balancer's DNS name in
// status.loadBalancer.ingress; an Ingress controller likewise.
func deployExposed(t *testing.T, args *LocustClusterArgs) (*pulumimock.Monitor, string) {
	t.Helper()
	m := exposureMonitor()
	var address string
	err := pulumimock.Run("project", "test", nil, nil, m, func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		c, err := NewLocustCluster(ctx, "loadtest", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		v, err := pulumimock.Await(ctx.Context(), c.WebAddress)
		address, _ = v.(string)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, address
}

// testLoadBalancerName is the DNS name exposureMonitor's service
// controller gives the web load balancer.
const testLoadBalancerName = "a0123456789abcdef0123456789abcd-0123456789abcdef.elb.eu-west-1.amazonaws.com"

// exposureMonitor answers the web Service and Ingress as their controllers
// do once the load balancer exists: its DNS name in status.loadBalancer.
func exposureMonitor() *pulumimock.Monitor {
	return &pulumimock.Monitor{NewResourceHook: func(a pulumi.MockResourceArgs) (string, resource.PropertyMap, bool, error) {
		if a.Name != "loadtest-web" || (a.TypeToken != "kubernetes:core/v1:Service" && a.TypeToken != "kubernetes:networking.k8s.io/v1:Ingress") {
			return "", nil, false, nil
		}
		state := a.Inputs.Copy()
		state["status"] = resource.NewObjectProperty(resource.PropertyMap{"loadBalancer": resource.NewObjectProperty(resource.PropertyMap{
			"ingress": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
				"hostname": resource.NewStringProperty(testLoadBalancerName),
			})}),
		})})
		return "locust/loadtest-web", state, true, nil
	}}
}

func exposedArgs(t *testing.T, e *WebExposure) *LocustClusterArgs {
	args := loginArgs(t, "locustio/locust:2.46.3")
	args.WebExposure = e
	return args
}

// TestWebExposureRendering: each exposure choice renders the objects its
// controller reads, and the NetworkPolicy lets in only its clients, on the
// web port only.
func TestWebExposureRendering(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exposure *WebExposure
		// annotations the web Service must carry, "" for must not
		annotations map[string]string
		port        float64
		portName    string
		address     string
		args        []string // on the master, besides the usual
		probe       [2]string
		metricsPath string // the prometheus.io/path annotation, "" for none
		from        []any  // the NetworkPolicy's peers for the exposure
	}{{
		name:        "internal load balancer",
		exposure:    &WebExposure{SourceRanges: []string{"10.0.0.0/16"}, LoadBalancer: &WebLoadBalancer{}},
		annotations: map[string]string{upstreamLBType: "nlb", upstreamLBInternal: "true", upstreamLBScheme: "internal", upstreamLBCert: "", upstreamLBSSLPorts: ""},
		port:        80, portName: "http",
		address:     "http://a0123456789abcdef0123456789abcd-0123456789abcdef.elb.eu-west-1.amazonaws.com/",
		probe:       [2]string{"/", ""},
		metricsPath: "/metrics",
		from:        []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/16"}}},
	}, {
		name: "internet-facing load balancer with an ACM certificate",
		exposure: &WebExposure{SourceRanges: []string{"203.0.113.0/24", "198.51.100.7/32"},
			LoadBalancer: &WebLoadBalancer{InternetFacing: true, CertificateARN: testACMCertificate}},
		annotations: map[string]string{upstreamLBType: "nlb", upstreamLBInternal: "", upstreamLBScheme: "internet-facing", upstreamLBCert: testACMCertificate, upstreamLBSSLPorts: "https"},
		port:        443, portName: "https",
		address:     "https://a0123456789abcdef0123456789abcd-0123456789abcdef.elb.eu-west-1.amazonaws.com/",
		probe:       [2]string{"/", ""},
		metricsPath: "/metrics",
		from: []any{map[string]any{"ipBlock": map[string]any{"cidr": "203.0.113.0/24"}},
			map[string]any{"ipBlock": map[string]any{"cidr": "198.51.100.7/32"}}},
	}, {
		name: "load balancer passing TCP to Locust's own TLS",
		exposure: &WebExposure{SourceRanges: []string{"10.0.0.0/8"},
			LoadBalancer: &WebLoadBalancer{TLS: &WebTLS{CertificatePEM: testCertificate, KeyPEM: pulumi.ToSecret(pulumi.String("a key")).(pulumi.StringOutput)}}},
		annotations: map[string]string{upstreamLBType: "nlb", upstreamLBInternal: "true", upstreamLBCert: "", upstreamLBSSLPorts: ""},
		port:        443, portName: "https",
		address:     "https://a0123456789abcdef0123456789abcd-0123456789abcdef.elb.eu-west-1.amazonaws.com/",
		args:        []string{"--tls-cert=/mnt/locust-eks-tls/tls.crt", "--tls-key=/mnt/locust-eks-tls/tls.key"},
		probe:       [2]string{"/", "HTTPS"},
		metricsPath: "/metrics", // the metrics port stays plain HTTP
		from:        []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/8"}}},
	}, {
		name: "ingress on a sub-path",
		exposure: &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Host: "locust.example.com", Path: "/locust",
			ControllerNamespace: "ingress-nginx", TLSSecret: "locust-example-com"}},
		address:     "https://locust.example.com/locust/",
		args:        []string{"--web-base-path=/locust"},
		probe:       [2]string{"/locust/", ""},
		metricsPath: "/metrics",
		from:        []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, address := deployExposed(t, exposedArgs(t, tc.exposure))
			if address != tc.address {
				t.Errorf("webAddress %q, want %q", address, tc.address)
			}
			if tc.exposure.LoadBalancer != nil {
				svc := object(t, m, "kubernetes:core/v1:Service", "loadtest-web")
				for k, want := range tc.annotations {
					got, _ := field(svc, "metadata", "annotations", k).(string)
					if got != want {
						t.Errorf("annotation %s = %q, want %q", k, got, want)
					}
				}
				spec := svc["spec"]
				if field(spec, "type") != "LoadBalancer" || field(spec, "externalTrafficPolicy") != "Local" ||
					field(spec, "ports", 0, "port") != tc.port || field(spec, "ports", 0, "name") != tc.portName ||
					field(spec, "ports", 0, "targetPort") != "web" || field(spec, "ports", 1) != nil ||
					field(spec, "selector", "app.kubernetes.io/component") != "master" {
					t.Errorf("web Service spec %v", spec)
				}
				ranges, _ := json.Marshal(field(spec, "loadBalancerSourceRanges"))
				if want, _ := json.Marshal(tc.exposure.SourceRanges); string(ranges) != string(want) {
					t.Errorf("loadBalancerSourceRanges %s, want %s", ranges, want)
				}
			} else {
				ing := object(t, m, "kubernetes:networking.k8s.io/v1:Ingress", "loadtest-web")
				in := tc.exposure.Ingress
				path := field(ing, "spec", "rules", 0, "http", "paths", 0)
				if field(ing, "spec", "ingressClassName") != in.ClassName || field(ing, "spec", "rules", 0, "host") != in.Host ||
					field(path, "path") != in.Path || field(path, "pathType") != "Prefix" ||
					field(path, "backend", "service", "name") != "loadtest-master" || field(path, "backend", "service", "port", "name") != "web" ||
					field(ing, "spec", "tls", 0, "secretName") != in.TLSSecret || field(ing, "spec", "tls", 0, "hosts", 0) != in.Host {
					t.Errorf("Ingress %v", ing)
				}
			}
			master := object(t, m, "kubernetes:apps/v1:Deployment", "loadtest-master")
			container := field(master, "spec", "template", "spec", "containers", 0)
			var args []string
			for _, a := range field(container, "args").([]any) {
				args = append(args, a.(string))
			}
			for _, want := range tc.args {
				if !slices.Contains(args, want) {
					t.Errorf("master args %v lack %s", args, want)
				}
			}
			for _, a := range args {
				if (strings.HasPrefix(a, "--web-base-path") || strings.HasPrefix(a, "--tls-")) && !slices.Contains(tc.args, a) {
					t.Errorf("master has %s", a)
				}
			}
			probe := field(container, "readinessProbe", "httpGet")
			scheme, _ := field(probe, "scheme").(string) // empty: HTTP, the API server's default
			if field(probe, "path") != tc.probe[0] || scheme != tc.probe[1] {
				t.Errorf("readiness probe %v, want %s %s", probe, tc.probe[1], tc.probe[0])
			}
			if got, _ := field(master, "spec", "template", "metadata", "annotations", "prometheus.io/path").(string); got != tc.metricsPath {
				t.Errorf("prometheus.io/path %v, want %s", got, tc.metricsPath)
			}
			policy := object(t, m, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "loadtest-master-ingress")
			rules := field(policy, "spec", "ingress").([]any)
			exposed := rules[len(rules)-1]
			from, _ := json.Marshal(field(exposed, "from"))
			if want, _ := json.Marshal(tc.from); string(from) != string(want) || len(field(exposed, "ports").([]any)) != 1 ||
				field(exposed, "ports", 0, "port") != float64(WebPort) {
				t.Errorf("the exposure's NetworkPolicy rule %v; want from %s to port %d only", exposed, want, WebPort)
			}
			tlsSecret, hasTLS := m.Get("kubernetes:core/v1:Secret", "loadtest-web-tls")
			if hasTLS != (tc.exposure.ownTLS() != nil) {
				t.Fatalf("TLS Secret rendered: %v", hasTLS)
			}
			if hasTLS {
				data := tlsSecret.Inputs["stringData"]
				if tlsSecret.Inputs["type"].StringValue() != "kubernetes.io/tls" || !data.IsSecret() ||
					data.SecretValue().Element.ObjectValue()["tls.crt"].StringValue() != testCertificate {
					t.Errorf("TLS Secret %v; want type kubernetes.io/tls, the certificate, marked secret", tlsSecret.Inputs)
				}
				mounted := false
				for _, vm := range field(container, "volumeMounts").([]any) {
					mounted = mounted || (field(vm, "mountPath") == "/mnt/locust-eks-tls" && field(vm, "readOnly") == true)
				}
				if !mounted {
					t.Error("the master does not mount the TLS Secret read-only at /mnt/locust-eks-tls")
				}
			}
		})
	}
}

// TestWebExposureRefusals: the unsafe and impossible combinations are
// refused before anything is registered.
func TestWebExposureRefusals(t *testing.T) {
	key := pulumi.ToSecret(pulumi.String("a key")).(pulumi.StringOutput)
	lb := func(lb *WebLoadBalancer, ranges ...string) *WebExposure {
		return &WebExposure{LoadBalancer: lb, SourceRanges: ranges}
	}
	for _, tc := range []struct {
		name     string
		exposure *WebExposure
		login    bool
		image    string
		want     string
	}{
		{"no login", lb(&WebLoadBalancer{}, "10.0.0.0/16"), false, "", "it needs WebLogin"},
		{"neither choice", &WebExposure{SourceRanges: []string{"10.0.0.0/16"}}, true, "", "exactly one of LoadBalancer and Ingress"},
		{"both choices", &WebExposure{LoadBalancer: &WebLoadBalancer{}, Ingress: &WebIngress{ClassName: "nginx", Path: "/", ControllerNamespace: "x"}}, true, "", "exactly one"},
		{"no source ranges", lb(&WebLoadBalancer{}), true, "", "0.0.0.0/0"},
		{"internet-facing in plain text", lb(&WebLoadBalancer{InternetFacing: true}, "203.0.113.0/24"), true, "", "needs TLS"},
		{"two TLS", lb(&WebLoadBalancer{CertificateARN: testACMCertificate, TLS: &WebTLS{CertificatePEM: testCertificate, KeyPEM: key}}, "10.0.0.0/8"), true, "", "not both"},
		{"not an ACM ARN", lb(&WebLoadBalancer{CertificateARN: "arn:aws:iam::123456789012:server-certificate/x"}, "10.0.0.0/8"), true, "", "not an ACM certificate ARN"},
		{"a key in the certificate", lb(&WebLoadBalancer{TLS: &WebTLS{CertificatePEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", KeyPEM: key}}, "10.0.0.0/8"), true, "", "PRIVATE KEY block"},
		{"host bits", lb(&WebLoadBalancer{}, "10.0.0.1/16"), true, "", "host bits"},
		{"sub-path on 2.24", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx"}}, true, "locustio/locust:2.24.0", "which came with 2.32.4"},
		{"sub-path on 2.32.2", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx"}}, true, "locustio/locust:2.32.2", "which came with 2.32.4"},
		{"trailing slash", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust/", ControllerNamespace: "ingress-nginx"}}, true, "", "not end with one"},
		{"no one let in", &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/"}}, true, "", "ControllerNamespace or SourceRanges"},
		{"no class", &WebExposure{Ingress: &WebIngress{Path: "/", ControllerNamespace: "ingress-nginx"}}, true, "", "ClassName"},
	} {
		args := testArgs(t)
		if tc.login {
			args = loginArgs(t, "locustio/locust:2.46.3")
		}
		if tc.image != "" {
			args.Image = tc.image
		}
		args.WebExposure = tc.exposure
		if _, err := newClusterSpec("loadtest", args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	ok := exposedArgs(t, &WebExposure{Ingress: &WebIngress{ClassName: "nginx", Path: "/locust", ControllerNamespace: "ingress-nginx"}})
	for _, image := range []string{"locustio/locust:2.37.2", "locustio/locust:2.46.3", "locustio/locust:3.0"} {
		ok.Image = image
		if _, err := newClusterSpec("loadtest", ok); err != nil {
			t.Errorf("image %s refused with a sub-path: %v", image, err)
		}
	}
}
