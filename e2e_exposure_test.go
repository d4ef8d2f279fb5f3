package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/testcert"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// fakeLoadBalancers stands in for the cloud's controllers, which the local
// control plane lacks: as cloud-provider-aws does once an NLB is
// provisioning (pkg/providers/v1/aws.go: ingress.Hostname =
// aws.ToString(lb.DNSName), the name "a" + the Service's UID without dashes,
// cut to 32 characters), it writes a load balancer's DNS name into the
// status of each LoadBalancer Service, and an ingress controller's into each
// Ingress, through the status subresource. The provider's await, which
// waits for that status, then runs for real. It returns the names written,
// by object, and a stop function.
func fakeLoadBalancers(t *testing.T, kube *kubectl) (written func() map[string]string, stop func()) {
	t.Helper()
	done := make(chan struct{})
	var mu sync.Mutex
	names := map[string]string{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			for _, kind := range []string{"services", "ingresses"} {
				var list struct {
					Items []struct {
						Metadata struct{ Name, UID string } `json:"metadata"`
						Spec     struct{ Type string }      `json:"spec"`
						Status   struct {
							LoadBalancer struct{ Ingress []any } `json:"loadBalancer"`
						} `json:"status"`
					} `json:"items"`
				}
				out, err := kube.run("", "get", kind, "-o", "json")
				if err != nil || json.Unmarshal(out, &list) != nil {
					continue
				}
				for _, it := range list.Items {
					if (kind == "services" && it.Spec.Type != "LoadBalancer") || len(it.Status.LoadBalancer.Ingress) > 0 {
						continue
					}
					lbName := ("a" + strings.ReplaceAll(it.Metadata.UID, "-", ""))[:32]
					host := lbName + "-0123456789abcdef.elb.us-east-1.amazonaws.com"
					patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"hostname":%q}]}}}`, host)
					if _, err := kube.run("", "patch", kind, it.Metadata.Name, "--subresource=status", "--type=merge", "-p", patch); err == nil {
						mu.Lock()
						names[kind+"/"+it.Metadata.Name] = host
						mu.Unlock()
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	return func() map[string]string {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(names)
		}, func() {
			close(done)
			wg.Wait()
		}
}

// storedObject reads one object from the API server as generic JSON.
func storedObject(kube *kubectl, object string) map[string]any {
	var m map[string]any
	kube.getJSON(&m, object)
	return m
}

// at walks decoded JSON by keys and list indexes.
func at(v any, path ...any) any {
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

// exposedRule is the master NetworkPolicy's rule for the exposure, the one
// after the workers' and the namespace's, as JSON; "" when there is none.
func exposedRule(kube *kubectl) string {
	rules, _ := at(storedObject(kube, "networkpolicy/loadtest-master-ingress"), "spec", "ingress").([]any)
	if len(rules) < 3 {
		return ""
	}
	b, _ := json.Marshal(rules[2])
	return string(b)
}

// checkWebExposure deploys each exposure choice as docs/web-ui.md sets it,
// reads back what the API server stores (the Service or Ingress and the
// NetworkPolicy), and the address the stack exports; it refuses the unsafe
// combinations at preview with nothing changed; and going private removes
// what the exposure added.
func checkWebExposure(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl) {
	t.Helper()
	written, stop := fakeLoadBalancers(t, kube)
	defer stop()
	setConfig(t, ctx, stack, map[string]string{"webLogin": "true", "webExposure": "loadBalancer"})
	setSecret(t, ctx, stack, "webPassword", "exposure-"+randomHex(t))
	setPlain(t, ctx, stack, "webSourceRanges[0]", "10.0.0.0/8")

	// 1. An internal NLB.
	up, err := stack.Up(ctx, optup.Message("web exposure: internal load balancer"))
	if err != nil {
		t.Fatalf("up with an internal load balancer: %v", err)
	}
	svc := storedObject(kube, "service/loadtest-web")
	host := written()["services/loadtest-web"]
	annotations, _ := at(svc, "metadata", "annotations").(map[string]any)
	ranges, _ := json.Marshal(at(svc, "spec", "loadBalancerSourceRanges"))
	if at(svc, "spec", "type") != "LoadBalancer" || annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" ||
		annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] != "true" || string(ranges) != `["10.0.0.0/8"]` ||
		at(svc, "spec", "externalTrafficPolicy") != "Local" || at(svc, "spec", "ports", 0, "port") != float64(80) ||
		at(svc, "spec", "ports", 1) != nil || at(svc, "spec", "healthCheckNodePort") == nil {
		t.Errorf("the stored web Service: %v", svc)
	}
	if want := "http://" + host + "/"; host == "" || up.Outputs["webAddress"].Value != want {
		t.Errorf("webAddress %v; want %s, the load balancer's name", up.Outputs["webAddress"].Value, want)
	}
	if rule := exposedRule(kube); rule != `{"from":[{"ipBlock":{"cidr":"10.0.0.0/8"}}],"ports":[{"port":8089,"protocol":"TCP"}]}` {
		t.Errorf("the stored NetworkPolicy's exposure rule: %s", rule)
	}
	t.Logf("internal load balancer: Service loadtest-web stored as an internal NLB from 10.0.0.0/8, webAddress %v", up.Outputs["webAddress"].Value)
	internalUID := at(svc, "metadata", "uid")

	// 1b. Internet-facing for one range, Locust ending TLS itself with a
	// certificate and key set as docs/web-ui.md says, opened at the name
	// the certificate holds (a CNAME to the load balancer).
	cert, key := testcert.SelfSigned(t, "locust.example.test")
	setConfig(t, ctx, stack, map[string]string{"webLoadBalancerScheme": "internet-facing", "webTlsCertificate": cert, "webHostname": "locust.example.test"})
	setSecret(t, ctx, stack, "webTlsKey", key)
	setPlain(t, ctx, stack, "webSourceRanges[0]", "203.0.113.0/24")
	up, err = stack.Up(ctx, optup.Message("web exposure: internet-facing, Locust's own TLS"))
	if err != nil {
		t.Fatalf("up with Locust's own TLS: %v", err)
	}
	svc = storedObject(kube, "service/loadtest-web")
	annotations, _ = at(svc, "metadata", "annotations").(map[string]any)
	if annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] != nil || at(svc, "spec", "ports", 0, "port") != float64(443) {
		t.Errorf("the stored internet-facing Service: %v", svc)
	}
	// The controller sets an NLB's scheme only when it creates it
	// (cloud-provider-aws v1.35.2 aws_loadbalancer.go), so a scheme change
	// must replace the Service: a new object, a new load balancer, a new
	// address.
	internalHost := host
	host = written()["services/loadtest-web"]
	if at(svc, "metadata", "uid") == internalUID || host == "" || host == internalHost {
		t.Errorf("after the scheme change the web Service is %v (uid %v, was %v) behind %q (was %q); want a new Service with a new load balancer",
			at(svc, "metadata", "name"), at(svc, "metadata", "uid"), internalUID, host, internalHost)
	}
	master := kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0]
	tlsSecret := ""
	for _, v := range storedObject(kube, "deployment/loadtest-master")["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["volumes"].([]any) {
		if at(v, "name") == "web-tls" {
			tlsSecret, _ = at(v, "secret", "secretName").(string)
		}
	}
	stored := map[string]any{}
	if tlsSecret != "" {
		stored = storedObject(kube, "secret/"+tlsSecret)
	}
	probe := at(storedObject(kube, "deployment/loadtest-master"), "spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "scheme")
	if !slices.Contains(master.Args, "--tls-cert=/mnt/locust-eks-tls/tls.crt") || at(stored, "type") != "kubernetes.io/tls" || probe != "HTTPS" {
		t.Errorf("the master runs %v, probed over %v, with TLS Secret %q of type %v; want --tls-cert from a kubernetes.io/tls Secret, probed over HTTPS",
			master.Args, probe, tlsSecret, at(stored, "type"))
	}
	if up.Outputs["webAddress"].Value != "https://locust.example.test/" || up.Outputs["webLoadBalancerHostname"].Value != host || up.Outputs["webTlsCertificate"].Value != cert {
		t.Errorf("webAddress %v (want https://locust.example.test/), webLoadBalancerHostname %v (want the load balancer's %s), webTlsCertificate exported: %v",
			up.Outputs["webAddress"].Value, up.Outputs["webLoadBalancerHostname"].Value, host, up.Outputs["webTlsCertificate"].Value == cert)
	}
	if rule := exposedRule(kube); rule != `{"from":[{"ipBlock":{"cidr":"203.0.113.0/24"}}],"ports":[{"port":8089,"protocol":"TCP"}]}` {
		t.Errorf("the stored NetworkPolicy's exposure rule: %s", rule)
	}
	t.Logf("internet-facing with Locust's own TLS: the Service replaced (a new load balancer, %s), port 443, Secret %s of type kubernetes.io/tls mounted, HTTPS probe, only 203.0.113.0/24 let in", host, tlsSecret)

	// 2. An Ingress on a sub-path, Locust serving under it.
	for _, k := range []string{"webSourceRanges", "webLoadBalancerScheme", "webTlsCertificate", "webTlsKey", "webHostname"} {
		removeConfig(t, ctx, stack, k)
	}
	setConfig(t, ctx, stack, map[string]string{"webExposure": "ingress", "webIngressClass": "nginx", "webPath": "/locust",
		"webIngressHost": "locust.example.test", "webIngressControllerNamespace": "ingress-nginx", "webPlainHttp": "true"})
	up, err = stack.Up(ctx, optup.Message("web exposure: ingress on /locust"))
	if err != nil {
		t.Fatalf("up with an ingress: %v", err)
	}
	ing := storedObject(kube, "ingress/loadtest-web")
	path := at(ing, "spec", "rules", 0, "http", "paths", 0)
	if at(ing, "spec", "ingressClassName") != "nginx" || at(ing, "spec", "rules", 0, "host") != "locust.example.test" ||
		at(path, "path") != "/locust" || at(path, "pathType") != "Prefix" || at(path, "backend", "service", "name") != "loadtest-master" {
		t.Errorf("the stored Ingress: %v", ing)
	}
	if kube.exists("service/loadtest-web") {
		t.Error("the load balancer's Service is left after the switch to an Ingress")
	}
	master = kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0]
	if !slices.Contains(master.Args, "--web-base-path=/locust") || master.ReadinessProbe == nil || master.ReadinessProbe.HTTPGet.Path != "/locust/" {
		t.Errorf("the master runs %v with probe %+v; want --web-base-path=/locust, probed at /locust/", master.Args, master.ReadinessProbe)
	}
	if up.Outputs["webAddress"].Value != "http://locust.example.test/locust/" || up.Outputs["webPath"].Value != "/locust" {
		t.Errorf("webAddress %v, webPath %v", up.Outputs["webAddress"].Value, up.Outputs["webPath"].Value)
	}
	if rule := exposedRule(kube); rule != `{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}}],"ports":[{"port":8089,"protocol":"TCP"}]}` {
		t.Errorf("the stored NetworkPolicy's exposure rule: %s", rule)
	}
	t.Logf("ingress: Ingress loadtest-web stored for nginx at locust.example.test/locust, the master under --web-base-path, the controller's namespace let in")

	// 3. Unsafe combinations: refused at preview, nothing changed.
	snapshot := kube.resourceVersions()
	for _, tc := range []struct {
		name      string
		set, undo func()
		want      string
	}{
		{"an exposure without the login", func() { removeConfig(t, ctx, stack, "webLogin") },
			func() { setConfig(t, ctx, stack, map[string]string{"webLogin": "true"}) }, `webExposure: got "ingress"; needs webLogin true`},
		{"an Ingress in plain text", func() { removeConfig(t, ctx, stack, "webPlainHttp") },
			func() { setConfig(t, ctx, stack, map[string]string{"webPlainHttp": "true"}) },
			`webIngressTlsSecret: got ""; must name the kubernetes.io/tls Secret the controller ends TLS with`},
		{"an internet-facing load balancer open to all", func() {
			setConfig(t, ctx, stack, map[string]string{"webExposure": "loadBalancer", "webLoadBalancerScheme": "internet-facing"})
		}, func() {
			setConfig(t, ctx, stack, map[string]string{"webExposure": "ingress"})
			removeConfig(t, ctx, stack, "webLoadBalancerScheme")
		}, "webSourceRanges: got []; must list the client CIDRs let in when webLoadBalancerScheme is internet-facing"},
	} {
		tc.set()
		if _, err := stack.Preview(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: preview %v; want it refused with %q", tc.name, err, tc.want)
		} else {
			t.Logf("%s: refused at preview: %s", tc.name, tc.want)
		}
		tc.undo()
	}
	if after := kube.resourceVersions(); !maps.Equal(snapshot, after) {
		t.Errorf("the cluster changed after refused previews: %v -> %v", snapshot, after)
	}

	// 4. Private again.
	for _, key := range []string{"webExposure", "webIngressClass", "webPath", "webIngressHost", "webIngressControllerNamespace", "webPlainHttp", "webLogin", "webPassword"} {
		removeConfig(t, ctx, stack, key)
	}
	if _, err := stack.Up(ctx, optup.Message("web exposure: private again")); err != nil {
		t.Fatalf("up back to private: %v", err)
	}
	if kube.exists("ingress/loadtest-web") || exposedRule(kube) != "" ||
		slices.Contains(kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0].Args, "--web-base-path=/locust") {
		t.Error("going private left the Ingress, the NetworkPolicy's exposure rule or the master's base path")
	}
}
