package components

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ServiceMonitor tells a Prometheus Operator to scrape the master's
// /metrics: the CRD monitoring.coreos.com/v1 ServiceMonitor
// (prometheus-operator pkg/apis/monitoring/v1/servicemonitor_types.go:
// spec.selector, a label selector of Services;
// spec.namespaceSelector.matchNames; spec.endpoints[].port, a Service
// port's name, and .path). The CRD must exist in the cluster, so it is
// opt-in.
type ServiceMonitor struct {
	// Labels go on the ServiceMonitor, for the Prometheus that selects
	// ServiceMonitors by label (kube-prometheus-stack's release=<name>).
	Labels map[string]string
}

// serviceMonitor selects the master's Service by its selector labels, in
// its own namespace, and scrapes its web port's /metrics.
func (r resourceBuilder) serviceMonitor(namespace pulumi.StringOutput, m *ServiceMonitor, deps ...pulumi.Resource) (*apiextensions.CustomResource, error) {
	s := r.spec
	labels := s.labels("master")
	for k, v := range m.Labels {
		labels[k] = v
	}
	return apiextensions.NewCustomResource(r.ctx, s.name+"-master", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.coreos.com/v1"),
		Kind:       pulumi.String("ServiceMonitor"),
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.serviceName),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(labels),
		},
		OtherFields: map[string]any{
			"spec": pulumi.Map{
				"selector":          pulumi.Map{"matchLabels": pulumi.ToStringMap(s.selector("master"))},
				"namespaceSelector": pulumi.Map{"matchNames": pulumi.StringArray{namespace}},
				"endpoints":         pulumi.Array{pulumi.Map{"port": pulumi.String("web"), "path": pulumi.String(s.exposure.basePath() + MetricsPath)}},
			},
		},
	}, append([]pulumi.ResourceOption{pulumi.DependsOn(deps)}, r.parent)...)
}
