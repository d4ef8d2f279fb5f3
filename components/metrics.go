package components

import (
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// How Prometheus finds the master's metrics and reaches them: the metrics
// port, the scrape annotations on its pod, the NetworkPolicy peers let in
// to that port, and the opt-in ServiceMonitor.

// MetricsPort is where the component's plugin serves Prometheus metrics on
// the master, apart from the web port: an exposure forwards the web port
// only, so the metrics never leave the cluster through it. 9646 is the
// Locust exporter's port (ContainerSolutions/locust_exporter, README,
// --web.listen-address ":9646"), which the plugin stands in for; Locust
// itself listens on 5557 and 8089 only.
const MetricsPort = 9646

// MetricsPath is where the component's plugin serves Prometheus metrics on
// the metrics port (METRICS_PATH in locust_eks_worker.py). It is not under
// the web UI's base path: no proxy sits in front of the metrics port.
const MetricsPath = "/metrics"

// metricsPortOption is the plugin's command-line option for the metrics
// port (METRICS_PORT_OPTION in locust_eks_worker.py).
const metricsPortOption = "--locust-eks-metrics-port"

// metricsScrapeInterval is the ServiceMonitor's scrape interval: Grafana's
// default scrape interval for a Prometheus data source, which its
// $__rate_interval assumes (at least 4 scrapes per rate window), so the
// dashboard's rate panels hold several samples. Prometheus' own default,
// 1 m, would leave them mostly empty.
const metricsScrapeInterval = "15s"

// scrapeAnnotations are the de facto Prometheus scrape annotations for the
// master pod (Prometheus' kubernetes_sd example configuration relabels on
// them): the plugin's /metrics on the metrics port, plain HTTP whatever
// the web UI speaks. None when a ServiceMonitor is made: a Prometheus
// honouring both would scrape the master twice, and the dashboard's sums
// would double.
func (s *clusterSpec) scrapeAnnotations() pulumi.StringMap {
	if s.serviceMonitor {
		return nil
	}
	return pulumi.StringMap{
		"prometheus.io/scrape": pulumi.String("true"),
		"prometheus.io/port":   pulumi.String(strconv.Itoa(MetricsPort)),
		"prometheus.io/path":   pulumi.String(MetricsPath),
	}
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
// port's name, .path and .interval). The CRD must exist in the cluster, so it is
// opt-in.
type ServiceMonitor struct {
	// Labels go on the ServiceMonitor, for the Prometheus that selects
	// ServiceMonitors by label (kube-prometheus-stack's release=<name>).
	Labels map[string]string
}

// shardsServiceSelector selects every shard's master Service, by the
// labels it shares with its pods (shardsLabels).
func (s *clusterSpec) shardsServiceSelector() pulumi.Map {
	labels, instances := s.shardsLabels("master")
	sel := pulumi.Map{"matchLabels": pulumi.ToStringMap(labels)}
	if instances != nil {
		sel["matchExpressions"] = pulumi.Array{pulumi.Map{
			"key": pulumi.String(instanceLabel), "operator": pulumi.String("In"), "values": pulumi.ToStringArray(instances),
		}}
	}
	return sel
}

// serviceMonitor selects every shard's master Service by its labels, in
// its own namespace, and scrapes its metrics port's /metrics every
// metricsScrapeInterval.
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
				"selector":          s.shardsServiceSelector(),
				"namespaceSelector": pulumi.Map{"matchNames": pulumi.StringArray{namespace}},
				"endpoints": pulumi.Array{pulumi.Map{
					"port": pulumi.String("metrics"), "path": pulumi.String(MetricsPath), "interval": pulumi.String(metricsScrapeInterval),
				}},
			},
		},
	}, append([]pulumi.ResourceOption{pulumi.DependsOn(deps)}, r.parent)...)
}
