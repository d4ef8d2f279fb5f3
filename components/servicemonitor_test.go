package components

import (
	"slices"
	"testing"
)

// TestServiceMonitor: off by default (its CRD may be missing); when on, it
// selects the master's Service as the Prometheus Operator reads a
// ServiceMonitor (servicemonitor_types.go): spec.selector matches the
// Service's own labels, namespaceSelector names its namespace, and the
// endpoint's port is the name of the Service port where /metrics is
// served, the metrics port.
func TestServiceMonitor(t *testing.T) {
	const typ = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
	if _, ok := deploy(t, "loadtest", testArgs(t)).monitor.Get(typ, "loadtest-master"); ok {
		t.Error("a ServiceMonitor without ServiceMonitor set: its CRD may not exist")
	}
	args := testArgs(t)
	args.MetricsNamespaces = []string{"monitoring"}
	args.ServiceMonitor = &ServiceMonitor{Labels: map[string]string{"release": "kube-prometheus-stack"}}
	r := deploy(t, "loadtest", args)
	sm, ok := r.monitor.Get(typ, "loadtest-master")
	if !ok {
		t.Fatal("no ServiceMonitor")
	}
	obj := sm.Object()
	meta := obj["metadata"].(map[string]any)
	if obj["apiVersion"] != "monitoring.coreos.com/v1" || obj["kind"] != "ServiceMonitor" || meta["labels"].(map[string]any)["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor %v %v, labels %v", obj["apiVersion"], obj["kind"], meta["labels"])
	}
	svc, ok := r.monitor.Get("kubernetes:core/v1:Service", "loadtest-master")
	if !ok {
		t.Fatal("no master Service")
	}
	svcObj := svc.Object()
	svcLabels := svcObj["metadata"].(map[string]any)["labels"].(map[string]any)
	spec := obj["spec"].(map[string]any)
	for k, v := range spec["selector"].(map[string]any)["matchLabels"].(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("selector %s=%v does not match the Service's labels %v", k, v, svcLabels)
		}
	}
	if ns := spec["namespaceSelector"].(map[string]any)["matchNames"].([]any); len(ns) != 1 || ns[0] != meta["namespace"] || ns[0] != svcObj["metadata"].(map[string]any)["namespace"] {
		t.Errorf("namespaceSelector %v, ServiceMonitor in %v", ns, meta["namespace"])
	}
	var ports []string
	for _, p := range svcObj["spec"].(map[string]any)["ports"].([]any) {
		ports = append(ports, p.(map[string]any)["name"].(string))
	}
	endpoints := spec["endpoints"].([]any)
	ep := endpoints[0].(map[string]any)
	if len(endpoints) != 1 || !slices.Contains(ports, ep["port"].(string)) || ep["port"] != "metrics" || ep["path"] != MetricsPath {
		t.Errorf("endpoints %v; want the Service's metrics port (ports %v), path %s", endpoints, ports, MetricsPath)
	}
}
