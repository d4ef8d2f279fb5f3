package components

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WebExposure opens the master's web UI to people without cluster
// credentials, at an address the stack exports. Exactly one of
// LoadBalancer and Ingress is set. The web login must be on: an exposed UI
// without it would let anyone who reaches it start or read a test.
type WebExposure struct {
	LoadBalancer *WebLoadBalancer
	Ingress      *WebIngress
	// SourceRanges are the client CIDRs let in: the load balancer's
	// loadBalancerSourceRanges and the NetworkPolicy's ipBlocks on the
	// web port. Required with LoadBalancer; with Ingress, for a controller
	// whose traffic reaches the pod from load balancer addresses (the AWS
	// Load Balancer Controller's ip targets) rather than from its own pods.
	SourceRanges []string
}

// WebLoadBalancer exposes the web UI through a Service of type
// LoadBalancer: an AWS Network Load Balancer with instance targets, made by
// the service controller EKS runs for Services without a
// loadBalancerClass (kubernetes/cloud-provider-aws, pkg/providers/v1).
type WebLoadBalancer struct {
	// InternetFacing gives the load balancer public addresses; otherwise it
	// is internal, reachable only from the VPC and networks routed to it.
	InternetFacing bool
	// CertificateARN, an ACM certificate in the stack's region, makes the
	// load balancer's listener TLS on port 443; its targets stay plain TCP.
	CertificateARN string
	// TLS makes Locust itself serve HTTPS (--tls-cert/--tls-key) with this
	// certificate; the load balancer passes TCP through on port 443.
	TLS *WebTLS
	// Hostname is the DNS name people open, the one the certificate holds,
	// which the user points at the load balancer with a CNAME (or a Route 53
	// alias). The load balancer's own name, a<uid>-<hash>.elb.<region>.
	// amazonaws.com, is known only once it exists, so no certificate can
	// hold it. Empty: the UI opens at the load balancer's own name.
	Hostname string
}

// WebTLS is the certificate Locust serves its web UI with. It reaches the
// master through a Kubernetes Secret of type kubernetes.io/tls.
type WebTLS struct {
	// CertificatePEM is the certificate chain, leaf first, in PEM.
	CertificatePEM string
	// KeyPEM is its private key, in PEM: a secret.
	KeyPEM pulumi.StringInput
}

// WebIngress exposes the web UI through an Ingress, on Path of Host, to an
// ingress controller the cluster already runs.
type WebIngress struct {
	// ClassName is the IngressClass of the controller ("nginx", "alb").
	ClassName string
	// Host is the name the rule matches; empty matches every host.
	Host string
	// Path is where the UI lives, "/" or a sub-path like "/locust"; a
	// sub-path is served by Locust itself (--web-base-path), so the pages,
	// assets and API all stay under it behind a proxy that keeps the path.
	Path string
	// ControllerNamespace is the namespace of the controller's pods, let
	// through the NetworkPolicy to the web port.
	ControllerNamespace string
	// TLSSecret names a kubernetes.io/tls Secret in the Locust namespace
	// the controller terminates TLS with (spec.tls), such as one
	// cert-manager keeps; empty: the controller's default or none.
	TLSSecret string
	// Annotations are the controller's own settings (alb.ingress.kubernetes.io/*,
	// nginx.ingress.kubernetes.io/*), passed as given.
	Annotations map[string]string
}

// webTLSMountPath is where the master mounts its TLS Secret.
const webTLSMountPath = "/mnt/locust-eks-tls"

// basePath is the sub-path Locust serves its UI under ("" for /).
func (e *WebExposure) basePath() string {
	if e == nil || e.Ingress == nil || e.Ingress.Path == "/" {
		return ""
	}
	return e.Ingress.Path
}

// servedOverHTTPS reports whether people reach the UI over HTTPS: Locust's
// own TLS, the load balancer's ACM certificate, or the Ingress's TLS.
func (e *WebExposure) servedOverHTTPS() bool {
	switch {
	case e == nil:
		return false
	case e.LoadBalancer != nil:
		return e.LoadBalancer.CertificateARN != "" || e.LoadBalancer.TLS != nil
	case e.Ingress != nil:
		return IngressServesHTTPS(e.Ingress.ClassName, e.Ingress.Annotations, e.Ingress.TLSSecret)
	}
	return false
}

// IngressServesHTTPS reports whether an Ingress of this class, annotations
// and TLS Secret serves HTTPS: by the ALB's listeners for the AWS Load
// Balancer Controller, by its TLS Secret for every other controller.
func IngressServesHTTPS(class string, annotations map[string]string, tlsSecret string) bool {
	if IngressForALB(class, annotations) {
		return albServesHTTPS(annotations)
	}
	return tlsSecret != ""
}

// albServesHTTPS reports whether the AWS Load Balancer Controller opens an
// HTTPS listener for an Ingress with these annotations: the ones listen-ports
// names, else HTTPS:443 only with an explicit certificate ARN and HTTP:80
// without one (aws-load-balancer-controller@v2.17.1
// pkg/ingress/model_build_listener.go 144-145 and 210-216). The Ingress's TLS
// Secret plays no part (docs/guide/ingress/cert_discovery.md).
func albServesHTTPS(annotations map[string]string) bool {
	ports, given := annotations[annotationALBListenPorts]
	if !given {
		return annotations[ALBCertificateAnnotation] != ""
	}
	var listeners []map[string]int
	if err := json.Unmarshal([]byte(ports), &listeners); err != nil {
		return false
	}
	for _, l := range listeners {
		if _, ok := l["HTTPS"]; ok {
			return true
		}
	}
	return false
}

// ownTLS is the certificate Locust serves with, or nil.
func (e *WebExposure) ownTLS() *WebTLS {
	if e == nil || e.LoadBalancer == nil {
		return nil
	}
	return e.LoadBalancer.TLS
}

// webTLSSecret holds the certificate and key Locust serves HTTPS with,
// auto-named: a new certificate means a new Secret, and the master rolls.
func (r resourceBuilder) webTLSSecret(namespace pulumi.StringOutput, t *WebTLS) (*corev1.Secret, error) {
	return corev1.NewSecret(r.ctx, r.spec.name+"-web-tls", &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(r.spec.labels("master")),
		},
		Type: pulumi.String("kubernetes.io/tls"),
		StringData: pulumi.ToSecret(pulumi.StringMap{
			"tls.crt": pulumi.String(t.CertificatePEM),
			"tls.key": t.KeyPEM,
		}).(pulumi.StringMapOutput),
	}, r.parent)
}

// mountWebTLS mounts webTLS, the Secret of the certificate Locust serves
// with, where masterArgs point --tls-cert and --tls-key.
func mountWebTLS(container *corev1.ContainerArgs, template *corev1.PodTemplateSpecArgs, webTLS *corev1.Secret) {
	container.VolumeMounts = append(container.VolumeMounts.(corev1.VolumeMountArray),
		corev1.VolumeMountArgs{Name: pulumi.String("web-tls"), MountPath: pulumi.String(webTLSMountPath), ReadOnly: pulumi.Bool(true)})
	pod := template.Spec.(*corev1.PodSpecArgs)
	pod.Volumes = append(pod.Volumes.(corev1.VolumeArray), corev1.VolumeArgs{
		Name:   pulumi.String("web-tls"),
		Secret: &corev1.SecretVolumeSourceArgs{SecretName: webTLS.Metadata.Name()},
	})
}

// Annotations of the service controller EKS runs for LoadBalancer Services
// (kubernetes/cloud-provider-aws pkg/providers/v1/aws.go: the constants
// ServiceAnnotationLoadBalancerType, ...Internal, ...Certificate,
// ...SSLPorts; docs/service_controller.md). aws-load-balancer-scheme is the
// AWS Load Balancer Controller's (guide/service/annotations): the legacy
// controller ignores it, and where that controller takes the Service over
// (its webhook sets loadBalancerClass service.k8s.aws/nlb) it keeps the
// scheme, which it would otherwise default to internal.
const (
	annotationLBType      = "service.beta.kubernetes.io/aws-load-balancer-type"
	annotationLBInternal  = "service.beta.kubernetes.io/aws-load-balancer-internal"
	annotationLBScheme    = "service.beta.kubernetes.io/aws-load-balancer-scheme"
	annotationLBCert      = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	annotationLBSSLPorts  = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
	annotationLBSSLPolicy = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
)

// webTLSPolicy is the TLS listener's security policy: TLS 1.3 and 1.2
// only. Without it the controller sends none (aws_loadbalancer.go,
// createListenerV2: SslPolicy only when set) and the listener gets the
// API's default, ELBSecurityPolicy-2016-08, which accepts TLS 1.0 and 1.1
// (ELB docs, "Security policies for your Network Load Balancer"). The
// controller also brings an existing listener to it (ModifyListener when
// the listener's SslPolicy differs).
const webTLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// webServicePort is the load balancer's listener: 443 with TLS (the
// load balancer's or Locust's own), 80 without.
func (lb *WebLoadBalancer) webServicePort() (name string, port int) {
	if lb.CertificateARN != "" || lb.TLS != nil {
		return "https", 443
	}
	return "http", 80
}

// webLoadBalancer is a Service of type LoadBalancer in front of the
// master's web port only (never the workers' ZeroMQ port).
// externalTrafficPolicy Local keeps the client's address up to the pod
// (instance targets; kube-proxy does not masquerade), so the
// NetworkPolicy's ipBlocks see who is calling; the load balancer's health
// check goes to kube-proxy's healthCheckNodePort, not to the pod
// (aws.go, Local: HTTP on the health check node port).
//
// The controller sets an NLB's scheme only when it creates it: for an
// existing one it syncs listeners and target groups, and its source marks
// the internal/internet-facing sync as still to do (cloud-provider-aws@v1.35.2
// pkg/providers/v1/aws_loadbalancer.go:163-170, :219-220). A scheme patched
// onto the Service would leave the old NLB in place, so a scheme change
// replaces the Service instead: deleted first (its name is fixed), the
// controller deletes its NLB, and the new Service, a new UID, gets a new NLB
// and so a new address.
func (r resourceBuilder) webLoadBalancer(namespace pulumi.StringOutput, e *WebExposure, deps ...pulumi.Resource) (*corev1.Service, error) {
	s, lb := r.spec, e.LoadBalancer
	annotations := stackOwned()
	annotations[annotationLBType] = pulumi.String("nlb")
	if lb.InternetFacing {
		annotations[annotationLBScheme] = pulumi.String("internet-facing")
	} else {
		annotations[annotationLBInternal] = pulumi.String("true")
		annotations[annotationLBScheme] = pulumi.String("internal")
	}
	portName, port := lb.webServicePort()
	if lb.CertificateARN != "" {
		annotations[annotationLBCert] = pulumi.String(lb.CertificateARN)
		annotations[annotationLBSSLPorts] = pulumi.String(portName)
		annotations[annotationLBSSLPolicy] = pulumi.String(webTLSPolicy)
	}
	return corev1.NewService(r.ctx, s.name+"-web", &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: annotations,
			Name:        pulumi.String(s.name + "-web"),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("master")),
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:                     pulumi.String("LoadBalancer"),
			ExternalTrafficPolicy:    pulumi.String("Local"),
			LoadBalancerSourceRanges: pulumi.ToStringArray(e.SourceRanges),
			Selector:                 pulumi.ToStringMap(s.selector("master")),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name:       pulumi.String(portName),
				Port:       pulumi.Int(port),
				TargetPort: pulumi.String("web"),
				Protocol:   pulumi.String("TCP"),
			}},
		},
	}, r.parent, pulumi.DependsOn(deps), pulumi.ReplaceOnChanges(webLoadBalancerSchemePaths), pulumi.DeleteBeforeReplace(true))
}

// webLoadBalancerSchemePaths are the Service's properties that carry the
// load balancer's scheme: a change of either replaces the Service.
var webLoadBalancerSchemePaths = []string{
	`metadata.annotations["` + annotationLBInternal + `"]`,
	`metadata.annotations["` + annotationLBScheme + `"]`,
}

// webIngress routes Path (and everything under it) to the master
// Service's web port. For the AWS Load Balancer Controller it adds the
// target type and health check the master needs, unless given.
func (r resourceBuilder) webIngress(namespace pulumi.StringOutput, in *WebIngress, masterService *corev1.Service) (*networkingv1.Ingress, error) {
	s := r.spec
	annotations := stackOwned()
	for k, v := range in.albAnnotations(s.exposure.basePath()) {
		annotations[k] = pulumi.String(v)
	}
	for k, v := range in.Annotations {
		annotations[k] = pulumi.String(v)
	}
	rule := networkingv1.IngressRuleArgs{
		Http: &networkingv1.HTTPIngressRuleValueArgs{
			Paths: networkingv1.HTTPIngressPathArray{networkingv1.HTTPIngressPathArgs{
				Path:     pulumi.String(in.Path),
				PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: masterService.Metadata.Name().Elem(),
					Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String("web")},
				}},
			}},
		},
	}
	if in.Host != "" {
		rule.Host = pulumi.String(in.Host)
	}
	spec := &networkingv1.IngressSpecArgs{
		IngressClassName: pulumi.String(in.ClassName),
		Rules:            networkingv1.IngressRuleArray{rule},
	}
	if in.TLSSecret != "" {
		t := networkingv1.IngressTLSArgs{SecretName: pulumi.String(in.TLSSecret)}
		if in.Host != "" {
			t.Hosts = pulumi.ToStringArray([]string{in.Host})
		}
		spec.Tls = networkingv1.IngressTLSArray{t}
	}
	return networkingv1.NewIngress(r.ctx, s.name+"-web", &networkingv1.IngressArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: annotations,
			Name:        pulumi.String(s.name + "-web"),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("master")),
		},
		Spec: spec,
	}, r.parent)
}

// webClients are the NetworkPolicy peers the exposure lets reach
// the web port: the source ranges, and the ingress controller's pods.
func (e *WebExposure) webClients() networkingv1.NetworkPolicyPeerArray {
	var peers networkingv1.NetworkPolicyPeerArray
	for _, cidr := range e.SourceRanges {
		peers = append(peers, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	if in := e.Ingress; in != nil && in.ControllerNamespace != "" {
		peers = append(peers, networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
			MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(in.ControllerNamespace)},
		}})
	}
	return peers
}

// webAddress is where people open the UI: the load balancer's name (as
// the service controller writes it into the Service's status) or the
// Ingress's host, else the address its controller reports; "" until a
// controller reports one (the provider waits for it on create).
func webAddress(e *WebExposure, svc *corev1.Service, ing *networkingv1.Ingress) pulumi.StringOutput {
	if lb := e.LoadBalancer; lb != nil {
		scheme, _ := lb.webServicePort()
		if lb.Hostname != "" {
			return pulumi.Sprintf("%s://%s/", scheme, lb.Hostname)
		}
		return svc.Status.LoadBalancer().Ingress().ApplyT(func(in []corev1.LoadBalancerIngress) string {
			if len(in) == 0 {
				return ""
			}
			return fmt.Sprintf("%s://%s/", scheme, hostOrIP(in[0].Hostname, in[0].Ip))
		}).(pulumi.StringOutput)
	}
	in := e.Ingress
	scheme := "http"
	if e.servedOverHTTPS() {
		scheme = "https"
	}
	path := strings.TrimSuffix(in.Path, "/") + "/"
	if in.Host != "" {
		return pulumi.Sprintf("%s://%s%s", scheme, in.Host, path)
	}
	return ing.Status.LoadBalancer().Ingress().ApplyT(func(lbs []networkingv1.IngressLoadBalancerIngress) string {
		if len(lbs) == 0 {
			return ""
		}
		return fmt.Sprintf("%s://%s%s", scheme, hostOrIP(lbs[0].Hostname, lbs[0].Ip), path)
	}).(pulumi.StringOutput)
}

// loadBalancerHostname is the load balancer's own DNS name, as the service
// controller writes it into the Service's status (cloud-provider-aws,
// v2toStatus): what a CNAME for WebLoadBalancer.Hostname points at.
func loadBalancerHostname(svc *corev1.Service) pulumi.StringOutput {
	return svc.Status.LoadBalancer().Ingress().ApplyT(func(in []corev1.LoadBalancerIngress) string {
		if len(in) == 0 {
			return ""
		}
		return hostOrIP(in[0].Hostname, in[0].Ip)
	}).(pulumi.StringOutput)
}

// ALBCertificateAnnotation gives an AWS Load Balancer Controller's Ingress
// its ACM certificate (guide/ingress/annotations: certificate-arn).
const ALBCertificateAnnotation = "alb.ingress.kubernetes.io/certificate-arn"

// annotationALBListenPorts lists an ALB Ingress's listeners as JSON, like
// [{"HTTPS": 443}] (annotations.md, listen-ports).
const annotationALBListenPorts = "alb.ingress.kubernetes.io/listen-ports"

// hostOrIP is a load balancer status entry's name, else its address.
func hostOrIP(hostname, ip *string) string {
	switch {
	case hostname != nil && *hostname != "":
		return *hostname
	case ip != nil:
		return *ip
	}
	return ""
}
