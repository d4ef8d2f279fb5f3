package components

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// webBasePathSince is the first Locust whose web UI stays under
// --web-base-path: the option came with 2.32.2 (argument_parser.py; all
// routes in a Blueprint with url_prefix, web.py), and its pages' report
// links became relative in 2.32.4 (locust commit 1c7d7802, "Webui links
// should be relative").
var webBasePathSince = [3]int{2, 32, 4}

// webExposureSince is the first Locust where every route of the web UI
// that starts, stops, changes or reads a test needs the login's session:
// POST /user, which sets any attribute of the master's User classes
// (Environment.update_user_class), took auth_required_if_enabled in locust
// commit c8962eb2, first tagged 2.37.2 (web.py@2.37.1:566-567 without it,
// @2.37.2:566-568 with it). Its login form also posts (from 2.31.8), so the
// password stays out of URLs and access logs.
var webExposureSince = [3]int{2, 37, 2}

// ValidateWebExposureImage refuses, for an exposed UI, an image whose
// Locust leaves a route open without a session, or whose tag does not say
// which Locust it runs.
func ValidateWebExposureImage(image string) error {
	v, tag, ok := locustVersion(image)
	since := fmt.Sprintf("%d.%d.%d", webExposureSince[0], webExposureSince[1], webExposureSince[2])
	switch {
	case !ok:
		return fmt.Errorf("its tag does not say which Locust it runs; an exposed UI needs Locust %s or later: tag the image with its Locust version, like %s", since, DefaultImage)
	case versionBefore(v, webExposureSince):
		return fmt.Errorf("Locust %s answers POST /user without a session, which anyone reaching the address could use to change the test's users; every route needs the login from %s: pick a newer image, like %s, or keep the UI private", tag, since, DefaultImage)
	}
	return nil
}

// acmCertificateARN is an ACM certificate's ARN (AWS docs, "Identity-based
// policies for ACM": arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}).
var acmCertificateARN = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$`)

// ValidateCertificateARN checks an ACM certificate ARN and, when region is
// given, that the certificate lives there: a load balancer takes only
// certificates of its own region.
func ValidateCertificateARN(arn, region string) error {
	m := acmCertificateARN.FindStringSubmatch(arn)
	switch {
	case m == nil:
		return errors.New("it is not an ACM certificate ARN, like arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012")
	case region != "" && m[1] != region:
		return fmt.Errorf("the certificate is in %s, and the load balancer in %s takes only certificates of its own region", m[1], region)
	}
	return nil
}

// ValidateCertificatePEM checks a certificate chain in PEM, leaf first, as
// Locust's --tls-cert takes it (Python's ssl load_cert_chain): at least one
// CERTIFICATE block, each parsing as X.509, and nothing else in the text.
func ValidateCertificatePEM(chain string) error {
	rest := []byte(chain)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("it holds a %s block; only CERTIFICATE blocks belong here (the key goes in its own secret value)", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %w", n+1, err)
		}
		n++
	}
	switch {
	case n == 0:
		return errors.New("it holds no PEM CERTIFICATE block")
	case strings.TrimSpace(string(rest)) != "":
		return errors.New("it has text after its last PEM block")
	}
	return nil
}

// ValidateCertificateHostname checks that the leaf certificate of a PEM
// chain (already checked by ValidateCertificatePEM) holds hostname, as a
// browser checks it (crypto/x509 VerifyHostname: the DNS names of the
// subject alternative name, wildcards in the leftmost label).
func ValidateCertificateHostname(chain, hostname string) error {
	block, _ := pem.Decode([]byte(chain))
	if block == nil {
		return errors.New("it holds no PEM CERTIFICATE block")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("certificate 1: %w", err)
	}
	if leaf.VerifyHostname(hostname) != nil {
		names := strings.Join(leaf.DNSNames, ", ")
		if names == "" {
			names = "no DNS names"
		}
		return fmt.Errorf("its certificate holds %s, not %s", names, hostname)
	}
	return nil
}

// webPathSegment is one segment of a web path: URL-unreserved characters
// only (RFC 3986, section 2.3), so the path needs no escaping anywhere.
var webPathSegment = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// ValidateWebPath checks an Ingress path for the UI: "/" or a sub-path of
// path segments without a trailing slash, as --web-base-path takes it
// (main.py exits on one that does not start with "/").
func ValidateWebPath(path string) error {
	if path == "/" {
		return nil
	}
	if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return errors.New(`it must be "/" or start with "/" and not end with one, like "/locust"`)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." || !webPathSegment.MatchString(seg) {
			return fmt.Errorf("segment %q must be letters, digits, '.', '_', '~' or '-'", seg)
		}
	}
	return nil
}

// ValidateWebBasePathImage refuses an image whose Locust cannot serve the
// UI under a sub-path, or whose tag does not say which Locust it runs.
func ValidateWebBasePathImage(image string) error {
	v, tag, ok := locustVersion(image)
	since := fmt.Sprintf("%d.%d.%d", webBasePathSince[0], webBasePathSince[1], webBasePathSince[2])
	switch {
	case !ok:
		return fmt.Errorf("its tag does not say which Locust it runs; a sub-path needs Locust %s or later: tag the image with its Locust version, like locustio/locust:2.46.7", since)
	case versionBefore(v, webBasePathSince):
		return fmt.Errorf("Locust %s cannot serve its UI under a sub-path, which came with %s (--web-base-path): pick a newer image, like locustio/locust:2.46.7, or the path \"/\"", tag, since)
	}
	return nil
}

// validate checks an exposure on its own and against the rest of the
// cluster's arguments.
func (e *WebExposure) validate(login *WebLogin, image string) error {
	if login == nil {
		return errors.New("it needs WebLogin: without the login, anyone who reaches the address could start or read a test")
	}
	if (e.LoadBalancer == nil) == (e.Ingress == nil) {
		return errors.New("set exactly one of LoadBalancer and Ingress")
	}
	for _, cidr := range e.SourceRanges {
		if err := ValidateCIDR(cidr); err != nil {
			return fmt.Errorf("source range %q: %w", cidr, err)
		}
	}
	if lb := e.LoadBalancer; lb != nil {
		if err := lb.validate(e.SourceRanges); err != nil {
			return err
		}
	}
	if in := e.Ingress; in != nil {
		if err := in.validate(e.SourceRanges, image); err != nil {
			return err
		}
	}
	if err := ValidateWebExposureImage(image); err != nil {
		return fmt.Errorf("image %q with WebExposure: %w", image, err)
	}
	return nil
}

// validate checks a load balancer exposure: who may reach it, and how it
// carries the login's password.
func (lb *WebLoadBalancer) validate(sourceRanges []string) error {
	if len(sourceRanges) == 0 {
		return errors.New("LoadBalancer needs SourceRanges: the service controller would otherwise open the nodes to 0.0.0.0/0, internal or not (cloud-provider-aws defaults empty ranges to 0.0.0.0/0)")
	}
	if lb.InternetFacing && lb.CertificateARN == "" && lb.TLS == nil {
		return errors.New("an internet-facing LoadBalancer needs TLS (CertificateARN or TLS): the login's password would cross the internet in plain text")
	}
	if lb.CertificateARN != "" && lb.TLS != nil {
		return errors.New("set one of CertificateARN (the load balancer ends TLS) and TLS (Locust ends it), not both")
	}
	if lb.CertificateARN != "" {
		if err := ValidateCertificateARN(lb.CertificateARN, ""); err != nil {
			return fmt.Errorf("CertificateARN %q: %w", lb.CertificateARN, err)
		}
	}
	if lb.TLS != nil {
		if err := ValidateCertificatePEM(lb.TLS.CertificatePEM); err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		if lb.TLS.KeyPEM == nil {
			return errors.New("TLS needs its key")
		}
	}
	return nil
}

// validate checks an Ingress exposure: the fields Kubernetes will check,
// the path against the image's Locust, and who the NetworkPolicy lets in.
func (in *WebIngress) validate(sourceRanges []string, image string) error {
	if errs := validation.IsDNS1123Subdomain(in.ClassName); len(errs) > 0 {
		return fmt.Errorf("Ingress ClassName %q: %s", in.ClassName, strings.Join(errs, "; "))
	}
	if in.Host != "" {
		if errs := validation.IsFullyQualifiedDomainName(nil, in.Host); len(errs) > 0 {
			return fmt.Errorf("Ingress Host %q: %s", in.Host, errs.ToAggregate())
		}
	}
	if err := ValidateWebPath(in.Path); err != nil {
		return fmt.Errorf("Ingress Path %q: %w", in.Path, err)
	}
	if in.Path != "/" {
		if err := ValidateWebBasePathImage(image); err != nil {
			return fmt.Errorf("image %q with Ingress Path %q: %w", image, in.Path, err)
		}
	}
	if in.ControllerNamespace == "" && len(sourceRanges) == 0 {
		return errors.New("Ingress needs ControllerNamespace or SourceRanges: the NetworkPolicy lets only them reach the web port")
	}
	if in.ControllerNamespace != "" {
		if err := ValidateNamespace(in.ControllerNamespace); err != nil {
			return fmt.Errorf("Ingress ControllerNamespace %q: %w", in.ControllerNamespace, err)
		}
	}
	if in.TLSSecret != "" {
		if errs := validation.IsDNS1123Subdomain(in.TLSSecret); len(errs) > 0 {
			return fmt.Errorf("Ingress TLSSecret %q: %s", in.TLSSecret, strings.Join(errs, "; "))
		}
	}
	for _, k := range sortedKeys(in.Annotations) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("Ingress annotation %q: %s", k, strings.Join(errs, "; "))
		}
	}
	if in.forALB() {
		if err := ValidateALBTargetType(in.Annotations); err != nil {
			return fmt.Errorf("Ingress annotations: %w", err)
		}
		if err := ValidateALBIngress(in.TLSSecret, sourceRanges); err != nil {
			return fmt.Errorf("Ingress for the AWS Load Balancer Controller: %w", err)
		}
	}
	return nil
}

// ValidateALBIngress refuses what an ALB Ingress cannot honour. The
// controller ignores the Ingress's TLS Secret: it serves HTTPS only with an
// ACM certificate, named in certificate-arn or found by listen-ports naming
// HTTPS (aws-load-balancer-controller@v2.17.1
// docs/guide/ingress/cert_discovery.md). And with ip targets the ALB reaches
// the master from its own addresses in its subnets, not from the
// controller's pods (annotations.md, target-type), so only source ranges
// covering those subnets let it through the NetworkPolicy.
func ValidateALBIngress(tlsSecret string, sourceRanges []string) error {
	if tlsSecret != "" {
		return errors.New("the AWS Load Balancer Controller ignores an Ingress's TLS Secret: give the ALB an ACM certificate with " +
			ALBCertificateAnnotation + " instead")
	}
	if len(sourceRanges) == 0 {
		return errors.New("an ALB with ip targets reaches the master from its own addresses in its subnets, not from the controller's pods: " +
			"list those subnets' CIDRs (or the VPC's) as the source ranges")
	}
	return nil
}

// ALBTargetTypeAnnotation chooses the AWS Load Balancer Controller's
// targets: "instance" (its default, a NodePort) or "ip" (the pods).
const ALBTargetTypeAnnotation = "alb.ingress.kubernetes.io/target-type"

// Annotations of the AWS Load Balancer Controller's Ingress
// (aws-load-balancer-controller@v2.17.1 docs/guide/ingress/annotations.md).
const (
	albAnnotationPrefix          = "alb.ingress.kubernetes.io/"
	annotationALBTargetType      = ALBTargetTypeAnnotation
	annotationALBHealthCheckPath = albAnnotationPrefix + "healthcheck-path"
)

// forALB reports whether the AWS Load Balancer Controller serves the
// Ingress.
func (in *WebIngress) forALB() bool { return IngressForALB(in.ClassName, in.Annotations) }

// IngressForALB reports whether the AWS Load Balancer Controller serves an
// Ingress of this class and annotations: its usual class "alb", or any of
// its own annotations.
func IngressForALB(class string, annotations map[string]string) bool {
	if class == "alb" {
		return true
	}
	for k := range annotations {
		if strings.HasPrefix(k, albAnnotationPrefix) {
			return true
		}
	}
	return false
}

// ValidateALBTargetType refuses an ALB target type that cannot reach the
// master's Service: "instance", the controller's default, routes to a
// NodePort and needs a Service of type NodePort or LoadBalancer, and the
// master's is ClusterIP (annotations.md:212-217;
// pkg/backend/endpoint_resolver.go:87, "service type must be either
// 'NodePort' or 'LoadBalancer'"). Unset is fine: the stack then sets "ip".
func ValidateALBTargetType(annotations map[string]string) error {
	if t, ok := annotations[annotationALBTargetType]; ok && t != "ip" {
		return fmt.Errorf("%s=%s cannot reach the master's ClusterIP Service (instance targets need a NodePort): use %s=ip, or leave it out and the stack sets it",
			annotationALBTargetType, t, annotationALBTargetType)
	}
	return nil
}

// albAnnotations are the ALB settings the stack adds where the user gave
// none: ip targets, which reach a ClusterIP Service's pods, and a health
// check on the login page, which answers 200 without a session, where the
// controller's default "/" answers 302 under the login (and 404 under a
// sub-path), so every target would be unhealthy (annotations.md:51, :56).
func (in *WebIngress) albAnnotations(basePath string) map[string]string {
	out := map[string]string{}
	if !in.forALB() {
		return out
	}
	if _, ok := in.Annotations[annotationALBTargetType]; !ok {
		out[annotationALBTargetType] = "ip"
	}
	if _, ok := in.Annotations[annotationALBHealthCheckPath]; !ok {
		out[annotationALBHealthCheckPath] = basePath + "/login"
	}
	return out
}
