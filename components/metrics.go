package components

import (
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// How Prometheus finds the master's metrics and reaches them: the scrape
// annotations on its pod, the NetworkPolicy peers let in to its web port,
// and the opt-in ServiceMonitor.

// MetricsPath is where the component's plugin serves Prometheus metrics on
// the master's web port (METRICS_PATH in locust_eks_worker.py).
const MetricsPath = "/metrics"

// scrapeAnnotations are the de facto Prometheus scrape annotations for the
// master pod (Prometheus' kubernetes_sd example configuration relabels on
// them): the plugin's /metrics on the web port.
func (s *clusterSpec) scrapeAnnotations() pulumi.StringMap {
	annotations := pulumi.StringMap{
		"prometheus.io/scrape": pulumi.String("true"),
		"prometheus.io/port":   pulumi.String(strconv.Itoa(WebPort)),
		"prometheus.io/path":   pulumi.String(s.exposure.basePath() + MetricsPath),
	}
	if scheme := schemeIfHTTPS(s.webScheme()); scheme != nil {
		// Prometheus' example configuration relabels __scheme__ from it.
		annotations["prometheus.io/scheme"] = scheme.(pulumi.StringInput)
	}
	return annotations
}

// metricsClients are the pods of the metrics namespaces (Prometheus), by
// the label Kubernetes puts on every namespace, kubernetes.io/metadata.name;
// none when no namespace is named.
func (s *clusterSpec) metricsClients() networkingv1.NetworkPolicyPeerArray {
	if len(s.metricsNamespaces) == 0 {
		return nil
	}
	return networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
		MatchExpressions: metav1.LabelSelectorRequirementArray{metav1.LabelSelectorRequirementArgs{
			Key: pulumi.String("kubernetes.io/metadata.name"), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(s.metricsNamespaces),
		}},
	}}}
}

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
