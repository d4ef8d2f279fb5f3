package components

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/distribution/reference"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WebLogin are the web UI's credentials. The password reaches the master
// through a Kubernetes Secret, never its pod spec.
type WebLogin struct {
	Username string
	Password pulumi.StringInput
}

// validate checks a web login on its own and against the image, whose
// Locust must have --web-login.
func (l *WebLogin) validate(image string) error {
	if err := ValidateWebLoginImage(image); err != nil {
		return fmt.Errorf("image %q with WebLogin: %w", image, err)
	}
	if err := ValidateWebUsername(l.Username); err != nil {
		return fmt.Errorf("WebLogin username %q: %w", l.Username, err)
	}
	if l.Password == nil {
		return fmt.Errorf("WebLogin needs a password")
	}
	return nil
}

// webLoginSince is the first Locust version with --web-login: absent from
// locust/argument_parser.py up to 2.20.1, there from 2.21.0 (and at 2.24.0
// and 2.46.3).
var webLoginSince = [3]int{2, 21, 0}

// ValidateWebLoginImage refuses an image whose Locust has no --web-login,
// or whose tag does not say which Locust it runs.
func ValidateWebLoginImage(image string) error {
	if _, err := reference.ParseNormalizedNamed(image); err != nil {
		return err
	}
	v, tag, ok := locustVersion(image)
	if !ok {
		return fmt.Errorf("its tag does not say which Locust it runs; the web login needs Locust %d.%d or later: tag the image with its Locust version, like locustio/locust:2.46.7", webLoginSince[0], webLoginSince[1])
	}
	if versionBefore(v, webLoginSince) {
		return fmt.Errorf("Locust %s has no --web-login, which came with %d.%d: pick a newer image, like locustio/locust:2.46.7", tag, webLoginSince[0], webLoginSince[1])
	}
	return nil
}

// ValidateWebUsername accepts a login name a person types: 1 to 64
// printable characters without spaces at either end.
func ValidateWebUsername(name string) error {
	if name == "" || len(name) > 64 || strings.TrimSpace(name) != name {
		return errors.New("it must be 1 to 64 characters without spaces at either end")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return errors.New("it holds a character that is not printable")
		}
	}
	return nil
}

// webLoginSecret holds the web login's password, auto-named like secretEnv:
// a new password means a new Secret, and the master rolls onto it.
func (r resourceBuilder) webLoginSecret(namespace pulumi.StringOutput, login *WebLogin) (*corev1.Secret, error) {
	return corev1.NewSecret(r.ctx, r.spec.name+"-web-login", &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(r.spec.labels("master")),
		},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(pulumi.StringMap{webPasswordKey: login.Password}).(pulumi.StringMapOutput),
	}, r.parent)
}

// webPasswordKey is the web login Secret's key of the password.
const webPasswordKey = "password"

// webLoginEnv gives the master the login's credentials, the password by
// reference to its Secret, whether the UI is exposed (the login then takes
// only POST) and whether people reach it over HTTPS, which makes the
// session cookie Secure; the plugin reads them
// (locust_eks_worker.py).
func (s *clusterSpec) webLoginEnv(secret *corev1.Secret) []corev1.EnvVarInput {
	if secret == nil {
		return nil
	}
	env := []corev1.EnvVarInput{
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_EKS_WEB_USERNAME"), Value: pulumi.String(s.webLogin.Username)},
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_EKS_WEB_PASSWORD"), ValueFrom: &corev1.EnvVarSourceArgs{
			SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secret.Metadata.Name(), Key: pulumi.String(webPasswordKey)},
		}},
	}
	if s.exposure != nil {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(webExposedEnv), Value: pulumi.String("1")})
	}
	if s.exposure.servedOverHTTPS() {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(webHTTPSEnv), Value: pulumi.String("1")})
	}
	if s.exposure != nil && s.exposure.Ingress != nil {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(webBehindProxyEnv), Value: pulumi.String("1")})
	}
	return env
}

// webHTTPSEnv tells the plugin that the UI is served over HTTPS;
// webExposedEnv that it is exposed, so the login takes only POST;
// webBehindProxyEnv that people reach it through an Ingress, so the login
// counts each client by the address the proxy wrote into X-Forwarded-For.
// A load balancer's clients need none: externalTrafficPolicy Local keeps
// their own addresses.
const (
	webHTTPSEnv       = "LOCUST_EKS_WEB_HTTPS"
	webExposedEnv     = "LOCUST_EKS_WEB_EXPOSED"
	webBehindProxyEnv = "LOCUST_EKS_WEB_BEHIND_PROXY"
)
