package stackconfig

import (
	"crypto/tls"
	"strings"

	"github.com/locust-eks/locust-on-eks/components"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Exposure choices of webExposure.
const (
	ExposePrivate      = "private"
	ExposeLoadBalancer = "loadBalancer"
	ExposeIngress      = "ingress"
)

// WebExposure opens the web UI at an address (webExposure and the web*
// keys after it); nil keeps it private, behind the port-forward.
type WebExposure struct {
	// Kind is ExposeLoadBalancer or ExposeIngress.
	Kind           string
	InternetFacing bool
	SourceRanges   []string
	CertificateARN string
	// Hostname is the name the load balancer's UI is opened at (a CNAME
	// to it), the one its certificate holds; "" for its own DNS name.
	Hostname string
	// TLSCertificate and TLSKey (a secret) make Locust serve HTTPS itself.
	TLSCertificate, TLSKey string
	// The Ingress's class, host, path, controller namespace, TLS Secret
	// and annotations.
	IngressClass, IngressHost, Path, IngressControllerNamespace, IngressTLSSecret string
	IngressAnnotations                                                            map[string]string
}

// webKeys are the keys that mean something only with an exposure, each
// with the choice it belongs to ("" for both).
var webKeys = []struct{ key, kind string }{
	{"webLoadBalancerScheme", ExposeLoadBalancer},
	{"webSourceRanges", ""},
	{"webCertificateArn", ExposeLoadBalancer},
	{"webHostname", ExposeLoadBalancer},
	{"webTlsCertificate", ExposeLoadBalancer},
	{"webTlsKey", ExposeLoadBalancer},
	{"webIngressClass", ExposeIngress},
	{"webIngressHost", ExposeIngress},
	{"webPath", ExposeIngress},
	{"webIngressControllerNamespace", ExposeIngress},
	{"webIngressTlsSecret", ExposeIngress},
	{"webIngressAnnotations", ExposeIngress},
	{"webPlainHttp", ExposeIngress},
}

// webDefaults are the values Pulumi.yaml gives keys left unset: a key at
// its default was not set by the user.
var webDefaults = map[string]string{"webLoadBalancerScheme": "internal", "webPath": "/", "webSourceRanges": "[]", "webIngressAnnotations": "[]", "webPlainHttp": "false"}

// webExposure reads webExposure and the keys of its choice, and refuses
// keys of another choice, an exposure without the login, and an
// internet-facing load balancer without source ranges or TLS. vpcCIDR is
// the VPC the stack creates ("" otherwise): an internal load balancer's
// default source range. region is the stack's AWS region, "" outside AWS.
func (p *parser) webExposure(login *WebLogin, image, vpcCIDR, region string) *WebExposure {
	kind := p.oneOf("webExposure", ExposePrivate, ExposeLoadBalancer, ExposeIngress)
	for _, k := range webKeys {
		v := p.str(k.key)
		if v == "" || v == webDefaults[k.key] || !p.ok("webExposure") {
			continue
		}
		switch {
		case kind == ExposePrivate:
			p.fail(k.key, p.shown(k.key), "must be empty unless webExposure is loadBalancer or ingress: the UI is private (port-forward only)")
		case k.kind != "" && k.kind != kind:
			p.fail(k.key, p.shown(k.key), "must be empty unless webExposure is "+k.kind+" (it is "+kind+")")
		}
	}
	if kind != ExposeLoadBalancer && kind != ExposeIngress {
		return nil
	}
	if login == nil && p.ok("webLogin") {
		p.fail("webExposure", quote(kind), "needs webLogin true: without the login, anyone who reaches the address could start or read a test")
	}
	e := &WebExposure{Kind: kind, SourceRanges: p.list("webSourceRanges")}
	for _, cidr := range e.SourceRanges {
		if err := components.ValidateCIDR(cidr); err != nil {
			p.fail("webSourceRanges", quote(cidr), "each entry must be a client CIDR let in, like \"203.0.113.0/24\": "+err.Error())
		}
	}
	p.noDuplicates("webSourceRanges", e.SourceRanges)
	if kind == ExposeLoadBalancer {
		p.webLoadBalancer(e, vpcCIDR, region)
	} else {
		p.webIngress(e, image, vpcCIDR)
	}
	if p.ok("image") {
		if err := components.ValidateWebExposureImage(image); err != nil {
			p.fail("image", quote(image), "must run a Locust whose every route needs the login when webExposure is "+kind+": "+err.Error())
		}
	}
	return e
}

// webLoadBalancer reads the load balancer's scheme, source ranges and TLS.
func (p *parser) webLoadBalancer(e *WebExposure, vpcCIDR, region string) {
	scheme := p.oneOf("webLoadBalancerScheme", "internal", "internet-facing")
	e.InternetFacing = scheme == "internet-facing"
	if p.ok("webLoadBalancerScheme") {
		// The service controller sets the scheme only when it creates the
		// load balancer, so the component replaces the Service on a change;
		// the preview shows that replacement, this says what it means.
		p.warn("webLoadBalancerScheme is " + scheme + ": a change of webLoadBalancerScheme replaces the web Service and its load balancer, " +
			"so its DNS name (webLoadBalancerHostname) changes, and webAddress changes with it unless webHostname is set; " +
			"the UI is unreachable until the new load balancer is ready; point any CNAME at the new webLoadBalancerHostname")
	}
	if len(e.SourceRanges) == 0 && p.ok("webSourceRanges", "webLoadBalancerScheme") {
		switch {
		case e.InternetFacing:
			p.fail("webSourceRanges", "[]", "must list the client CIDRs let in when webLoadBalancerScheme is internet-facing, like [\"203.0.113.0/24\"] (the office, the VPN): an empty list would open the UI to the whole internet")
		case vpcCIDR != "":
			e.SourceRanges = []string{vpcCIDR}
		default:
			p.fail("webSourceRanges", "[]", "must list the client CIDRs let in, like [\"10.0.0.0/8\"]: with an existing VPC or cluster the stack does not know its addresses, and an empty list would let in 0.0.0.0/0 (the service controller's default)")
		}
	}
	e.CertificateARN = p.str("webCertificateArn")
	if e.CertificateARN != "" {
		if err := components.ValidateCertificateARN(e.CertificateARN, region); err != nil {
			p.fail("webCertificateArn", quote(e.CertificateARN), "must be an ACM certificate of the stack's region for the load balancer's TLS listener: "+err.Error())
		}
	}
	e.TLSCertificate, e.TLSKey = p.str("webTlsCertificate"), p.raw("webTlsKey")
	if e.TLSCertificate != "" {
		e.TLSCertificate += "\n" // a PEM file's last line ends with one
	}
	const howToSetKey = "`pulumi config set --secret webTlsKey < key.pem`"
	switch {
	case e.TLSCertificate == "" && e.TLSKey == "":
	case e.CertificateARN != "":
		p.fail("webTlsCertificate", "a certificate", "must be empty when webCertificateArn is set: either the load balancer ends TLS (webCertificateArn) or Locust does (webTlsCertificate and webTlsKey)")
	case e.TLSCertificate == "":
		p.fail("webTlsCertificate", `""`, "must be set with webTlsKey: the PEM certificate chain Locust serves HTTPS with, like `pulumi config set webTlsCertificate < cert.pem`")
	case e.TLSKey == "":
		p.fail("webTlsKey", `""`, "must be set with webTlsCertificate, encrypted: "+howToSetKey)
	case !p.secret("webTlsKey"):
		p.fail("webTlsKey", "a plain-text value (not shown)", "must be stored encrypted: set it again with "+howToSetKey)
	default:
		if err := components.ValidateCertificatePEM(e.TLSCertificate); err != nil {
			p.fail("webTlsCertificate", "a PEM text", "must be the PEM certificate chain, leaf first: "+err.Error())
		} else if _, err := tls.X509KeyPair([]byte(e.TLSCertificate), []byte(e.TLSKey)); err != nil {
			// crypto/tls's errors name the mismatch, never the key.
			p.fail("webTlsKey", "a value (not shown)", "must be the PEM private key of webTlsCertificate: "+err.Error())
		}
	}
	p.webHostname(e)
	if e.InternetFacing && e.CertificateARN == "" && e.TLSCertificate == "" && p.ok("webLoadBalancerScheme") {
		p.fail("webLoadBalancerScheme", quote("internet-facing"), "needs TLS, webCertificateArn (an ACM certificate) or webTlsCertificate and webTlsKey: the login's password would cross the internet in plain text")
	}
}

// webHostname reads the name the load balancer's UI is opened at, and
// checks that Locust's own certificate holds it. Without one, a TLS
// listener's address is the load balancer's own name, which no
// certificate can hold (it exists only once the load balancer does).
func (p *parser) webHostname(e *WebExposure) {
	e.Hostname = p.str("webHostname")
	tls := e.CertificateARN != "" || e.TLSCertificate != ""
	if e.Hostname == "" {
		if tls {
			p.warn("webHostname is empty: webAddress will be the load balancer's own DNS name, which no certificate holds, so browsers refuse it; " +
				"set webHostname to a name the certificate holds and point a CNAME for it at the stack output webLoadBalancerHostname")
		}
		return
	}
	if errs := validation.IsFullyQualifiedDomainName(nil, e.Hostname); len(errs) > 0 {
		p.fail("webHostname", quote(e.Hostname), "must be empty or the DNS name the UI is opened at, like \"locust.example.com\": "+errs.ToAggregate().Error())
		return
	}
	if e.TLSCertificate == "" || !p.ok("webTlsCertificate", "webTlsKey") {
		return
	}
	if err := components.ValidateCertificateHostname(e.TLSCertificate, e.Hostname); err != nil {
		p.fail("webHostname", quote(e.Hostname), "must be a name webTlsCertificate holds, or browsers refuse the UI: "+err.Error())
	}
}

// webIngress reads the Ingress's class, host, path, controller, TLS and
// annotations.
func (p *parser) webIngress(e *WebExposure, image, vpcCIDR string) {
	e.IngressClass = p.str("webIngressClass")
	if errs := validation.IsDNS1123Subdomain(e.IngressClass); len(errs) > 0 {
		p.fail("webIngressClass", quote(e.IngressClass), "must name the IngressClass of the cluster's ingress controller, like \"nginx\" or \"alb\": "+strings.Join(errs, "; "))
	}
	e.IngressHost = p.str("webIngressHost")
	if e.IngressHost != "" {
		if errs := validation.IsFullyQualifiedDomainName(nil, e.IngressHost); len(errs) > 0 {
			p.fail("webIngressHost", quote(e.IngressHost), "must be empty (any host) or a DNS name, like \"locust.example.com\": "+errs.ToAggregate().Error())
		}
	}
	e.Path = p.str("webPath")
	if err := components.ValidateWebPath(e.Path); err != nil {
		p.fail("webPath", quote(e.Path), "must be where the UI lives: "+err.Error())
	} else if e.Path != "/" && p.ok("image") {
		if err := components.ValidateWebBasePathImage(image); err != nil {
			p.fail("image", quote(image), "must serve its UI under webPath "+e.Path+": "+err.Error())
		}
	}
	e.IngressTLSSecret = p.str("webIngressTlsSecret")
	if e.IngressTLSSecret != "" {
		if errs := validation.IsDNS1123Subdomain(e.IngressTLSSecret); len(errs) > 0 {
			p.fail("webIngressTlsSecret", quote(e.IngressTLSSecret), "must name a kubernetes.io/tls Secret in the Locust namespace: "+strings.Join(errs, "; "))
		}
	}
	e.IngressAnnotations = map[string]string{}
	for _, raw := range p.list("webIngressAnnotations") {
		k, v, found := strings.Cut(raw, "=")
		errs := validation.IsQualifiedName(k)
		_, dup := e.IngressAnnotations[k]
		switch {
		case !found || len(errs) > 0:
			p.fail("webIngressAnnotations", quote(raw), "each entry must be an annotation as key=value, like \"alb.ingress.kubernetes.io/scheme=internal\": "+strings.Join(errs, "; "))
		case dup:
			p.fail("webIngressAnnotations", quote(raw), "annotation "+k+" is given more than once")
		default:
			e.IngressAnnotations[k] = v
		}
	}
	if e.IngressHost == "" && components.IngressServesHTTPS(e.IngressClass, e.IngressAnnotations, e.IngressTLSSecret) {
		p.warn("webIngressHost is empty: webAddress will be the controller's load balancer's own DNS name, which no certificate holds, so browsers refuse it; " +
			"set webIngressHost to a name the certificate holds and point a CNAME for it at that load balancer")
	}
	alb := components.IngressForALB(e.IngressClass, e.IngressAnnotations)
	p.ingressTLS(e, alb)
	e.IngressControllerNamespace = p.str("webIngressControllerNamespace")
	if e.IngressControllerNamespace != "" {
		if err := components.ValidateNamespace(e.IngressControllerNamespace); err != nil {
			p.fail("webIngressControllerNamespace", quote(e.IngressControllerNamespace), "must be the namespace of the ingress controller's pods, like \"ingress-nginx\": "+err.Error())
		}
	} else if len(e.SourceRanges) == 0 && p.ok("webSourceRanges") && !alb {
		p.fail("webIngressControllerNamespace", `""`, "must name the ingress controller's namespace, like \"ingress-nginx\", or webSourceRanges the load balancer addresses its traffic comes from: the NetworkPolicy lets only them reach the web port")
	}
	if !alb {
		return
	}
	if err := components.ValidateALBTargetType(e.IngressAnnotations); err != nil {
		p.fail("webIngressAnnotations", quote(annotationEntry(e.IngressAnnotations, components.ALBTargetTypeAnnotation)), "must give the AWS Load Balancer Controller ip targets: "+err.Error())
	}
	if e.IngressTLSSecret != "" && p.ok("webIngressTlsSecret") {
		p.fail("webIngressTlsSecret", quote(e.IngressTLSSecret), "must be empty for the AWS Load Balancer Controller, which ignores an Ingress's TLS Secret: "+
			"give the ALB an ACM certificate with webIngressAnnotations alb.ingress.kubernetes.io/certificate-arn=ARN")
	}
	if len(e.SourceRanges) == 0 && p.ok("webSourceRanges") {
		if vpcCIDR != "" {
			// The ALB's subnets are the stack's own: its VPC holds them.
			e.SourceRanges = []string{vpcCIDR}
		} else {
			p.fail("webSourceRanges", "[]", "must list the CIDRs of the ALB's subnets (or its VPC's): with ip targets the ALB reaches the master "+
				"from its own addresses there, not from the controller's pods, so webIngressControllerNamespace does not let it in")
		}
	}
}

// ingressTLS refuses an Ingress that would carry the login in plain text
// unless webPlainHttp accepts it, and an internet-facing ALB open to every
// address: the AWS Load Balancer Controller's inbound-cidrs defaults to
// 0.0.0.0/0 and ::/0 (aws-load-balancer-controller@v2.17.1
// docs/guide/ingress/annotations.md), and with ip targets webSourceRanges
// names the ALB's subnets, not its clients.
func (p *parser) ingressTLS(e *WebExposure, alb bool) {
	plain := p.boolean("webPlainHttp")
	switch {
	case plain || components.IngressServesHTTPS(e.IngressClass, e.IngressAnnotations, e.IngressTLSSecret) || !p.ok("webIngressAnnotations", "webIngressTlsSecret", "webPlainHttp"):
	case alb:
		p.fail("webIngressAnnotations", "no "+components.ALBCertificateAnnotation, "must give the ALB an ACM certificate ("+components.ALBCertificateAnnotation+"=ARN): "+
			"without TLS the login's password and session cross the network in plain text; set webPlainHttp true to accept that for an ALB only trusted networks reach")
	default:
		p.fail("webIngressTlsSecret", `""`, "must name the kubernetes.io/tls Secret the controller ends TLS with: "+
			"without TLS the login's password and session cross the network in plain text; set webPlainHttp true to accept that for a controller only trusted networks reach")
	}
	if alb && e.IngressAnnotations[albSchemeAnnotation] == "internet-facing" && e.IngressAnnotations[albInboundCIDRsAnnotation] == "" && p.ok("webIngressAnnotations") {
		p.fail("webIngressAnnotations", quote(annotationEntry(e.IngressAnnotations, albSchemeAnnotation)),
			"needs "+albInboundCIDRsAnnotation+"=CIDR,... beside it, the client ranges let in: the controller's default is 0.0.0.0/0 and ::/0, the whole internet")
	}
}

// The AWS Load Balancer Controller's scheme and client-range annotations
// (docs/guide/ingress/annotations.md at v2.17.1).
const (
	albSchemeAnnotation       = "alb.ingress.kubernetes.io/scheme"
	albInboundCIDRsAnnotation = "alb.ingress.kubernetes.io/inbound-cidrs"
)

// annotationEntry is one annotation as webIngressAnnotations lists it.
func annotationEntry(annotations map[string]string, key string) string {
	return key + "=" + annotations[key]
}

// shown is a key's value for an error: a secret's is not shown.
func (p *parser) shown(key string) string {
	if p.secret(key) || key == "webTlsKey" {
		return "a value (not shown)"
	}
	if key == "webTlsCertificate" {
		return "a certificate"
	}
	return quote(p.str(key))
}
