package components

import (
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// resourceBuilder creates the Kubernetes objects of one LocustCluster, each a
// child of the component.
type resourceBuilder struct {
	ctx    *pulumi.Context
	spec   *clusterSpec
	parent pulumi.ResourceOption
}

// namespace enforces Kubernetes' "restricted" Pod Security Standard: the
// Locust pods meet it, and nothing less locked-down gets in beside them.
func (r resourceBuilder) namespace() (*corev1.Namespace, error) {
	labels := r.spec.labels("")
	labels["pod-security.kubernetes.io/enforce"] = "restricted"
	return corev1.NewNamespace(r.ctx, r.spec.name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(r.spec.namespace),
			Labels: pulumi.ToStringMap(labels),
		},
	}, r.parent)
}

// locustfiles has no fixed name: the provider then replaces the ConfigMap
// under a new name when a locustfile changes, so running pods keep the files
// they started with until the Deployments roll them onto the new ConfigMap.
func (r resourceBuilder) locustfiles(namespace pulumi.StringOutput, files map[string]string) (*corev1.ConfigMap, error) {
	return corev1.NewConfigMap(r.ctx, r.spec.name+"-locustfiles", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(r.spec.labels("")),
		},
		Data: pulumi.ToStringMap(files),
	}, r.parent)
}

// secretEnv is auto-named like the ConfigMap: a new value means a new Secret,
// and the pods roll onto it.
func (r resourceBuilder) secretEnv(namespace pulumi.StringOutput, vars []EnvVar) (*corev1.Secret, error) {
	data := pulumi.StringMap{}
	for _, e := range vars {
		data[e.Name] = e.Value
	}
	return corev1.NewSecret(r.ctx, r.spec.name+"-env", &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(r.spec.labels("")),
		},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(data).(pulumi.StringMapOutput),
	}, r.parent)
}

func (r resourceBuilder) masterService(namespace pulumi.StringOutput) (*corev1.Service, error) {
	s := r.spec
	return corev1.NewService(r.ctx, s.name+"-master", &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.serviceName),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("master")),
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(s.selector("master")),
			Ports: corev1.ServicePortArray{
				servicePort("master", MasterPort),
				servicePort("web", WebPort),
				servicePort("metrics", MetricsPort),
			},
		},
	}, r.parent)
}

func (r resourceBuilder) master(namespace pulumi.StringOutput, files *corev1.ConfigMap, secretEnv, webLogin, webTLS *corev1.Secret) (*appsv1.Deployment, error) {
	s := r.spec
	container := &corev1.ContainerArgs{
		Args: pulumi.ToStringArray(s.masterArgs()),
		Ports: corev1.ContainerPortArray{
			containerPort("master", MasterPort),
			containerPort("web", WebPort),
			containerPort("metrics", MetricsPort),
		},
		// Under a login, / answers a redirect to the login page, which
		// the kubelet counts as ready (2xx and 3xx).
		ReadinessProbe: &corev1.ProbeArgs{
			HttpGet: &corev1.HTTPGetActionArgs{
				Path: pulumi.String(s.exposure.basePath() + "/"),
				Port: pulumi.String("web"),
				// HTTP, the default, is left unsaid: a stack from before
				// exposures keeps its master's spec as it was.
				Scheme: schemeIfHTTPS(strings.ToUpper(s.webScheme())),
			},
			PeriodSeconds:    pulumi.Int(5),
			FailureThreshold: pulumi.Int(3),
		},
		Resources: s.master.args(),
	}
	template := s.podTemplate("master", files, secretEnv, s.webLoginEnv(webLogin), container)
	if webTLS != nil {
		mountWebTLS(container, template, webTLS)
	}
	return appsv1.NewDeployment(r.ctx, s.name+"-master", &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.name + "-master"),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("master")),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			// Two masters would split the workers between them.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.selector("master"))},
			Template: template,
		},
	}, r.parent)
}

func (r resourceBuilder) worker(namespace pulumi.StringOutput, replicas int, masterAddress pulumi.StringOutput, files *corev1.ConfigMap, secretEnv *corev1.Secret, masterService *corev1.Service) (*appsv1.Deployment, error) {
	s := r.spec
	workerEnv := []corev1.EnvVarInput{
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_MASTER_NODE_HOST"), Value: masterAddress},
	}
	return appsv1.NewDeployment(r.ctx, s.name+"-worker", &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.name + "-worker"),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("worker")),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(replicas),
			// A rollout (a new locustfile, image or env) replaces all workers
			// at once, as the master's Recreate does: a rolling update would
			// leave workers running the old locustfile beside new ones. The
			// restarted master discards the old workers anyway; they would
			// only linger until Locust's 60 s master-heartbeat timeout.
			// Scaling replicas is not a rollout and stops no worker.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.selector("worker"))},
			Template: s.podTemplate("worker", files, secretEnv, workerEnv, &corev1.ContainerArgs{
				Args:      pulumi.ToStringArray(s.workerArgs()),
				Resources: s.worker.args(),
			}),
		},
	}, r.parent, pulumi.DependsOn([]pulumi.Resource{masterService}))
}

// disruptionBudget limits voluntary evictions of one role's pods: for the
// master none at all (a drain waits until the master is moved by hand or the
// test is over), for the workers a tenth at a time, rounded up.
func (r resourceBuilder) disruptionBudget(namespace pulumi.StringOutput, role string, maxUnavailable pulumi.Input, deps ...pulumi.Resource) (*policyv1.PodDisruptionBudget, error) {
	s := r.spec
	return policyv1.NewPodDisruptionBudget(r.ctx, s.name+"-"+role, &policyv1.PodDisruptionBudgetArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.name + "-" + role),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels(role)),
		},
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: maxUnavailable,
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.selector(role))},
		},
	}, r.parent, pulumi.DependsOn(deps))
}

// networkPolicies: no ingress to this cluster's pods except the master's
// ZeroMQ port from its own workers and its web port from the namespace
// (kubectl port-forward enters through the kubelet, which policies do not
// filter); egress open unless EgressCIDRs narrows it.
func (r resourceBuilder) networkPolicies(namespace pulumi.StringOutput) ([]*networkingv1.NetworkPolicy, error) {
	s := r.spec
	deny, err := r.networkPolicy(namespace, "deny-ingress", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: s.shardsSelector(""),
		PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
	})
	if err != nil {
		return nil, err
	}
	master, err := r.networkPolicy(namespace, "master-ingress", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: s.shardsSelector("master"),
		PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
		Ingress:     s.masterIngressRules(),
	})
	if err != nil {
		return nil, err
	}
	policies := []*networkingv1.NetworkPolicy{deny, master}
	if len(s.egressCIDRs) == 0 {
		return policies, nil
	}
	egress, err := r.networkPolicy(namespace, "egress", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: s.shardsSelector(""),
		PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
		Egress:      s.egressRules(),
	})
	if err != nil {
		return nil, err
	}
	return append(policies, egress), nil
}

// networkPolicy is the NetworkPolicy <name>-<suffix>, shared by both roles.
func (r resourceBuilder) networkPolicy(namespace pulumi.StringOutput, suffix string, spec *networkingv1.NetworkPolicySpecArgs) (*networkingv1.NetworkPolicy, error) {
	s := r.spec
	return networkingv1.NewNetworkPolicy(r.ctx, s.name+"-"+suffix, &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Annotations: stackOwned(),
			Name:        pulumi.String(s.name + "-" + suffix),
			Namespace:   namespace,
			Labels:      pulumi.ToStringMap(s.labels("")),
		},
		Spec: spec,
	}, r.parent)
}

// shardsLabels select one role's pods (role "": both roles') of every
// shard: the labels all of them carry, and the shards' instance names, nil
// with one shard, whose instance label is among the labels, as it always
// was. No label common to every shard tells them from another cluster's
// pods: shard 0 keeps the labels it had before shards.
func (s *clusterSpec) shardsLabels(role string) (labels map[string]string, instances []string) {
	labels = map[string]string{"app.kubernetes.io/name": "locust"}
	if role != "" {
		labels["app.kubernetes.io/component"] = role
	}
	if len(s.instances) == 1 {
		labels[instanceLabel] = s.name
		return labels, nil
	}
	return labels, s.instances
}

// instanceLabel tells one shard's pods from another's.
const instanceLabel = "app.kubernetes.io/instance"

// shardsSelector is shardsLabels as a NetworkPolicy's label selector.
func (s *clusterSpec) shardsSelector(role string) *metav1.LabelSelectorArgs {
	labels, instances := s.shardsLabels(role)
	sel := &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}
	if instances != nil {
		sel.MatchExpressions = metav1.LabelSelectorRequirementArray{metav1.LabelSelectorRequirementArgs{
			Key: pulumi.String(instanceLabel), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(instances),
		}}
	}
	return sel
}

// masterIngressRules let the workers reach the master's ZeroMQ port, this
// namespace's pods its web and metrics ports, the metrics namespaces' pods
// its metrics port, and the exposure's clients its web port.
func (s *clusterSpec) masterIngressRules() networkingv1.NetworkPolicyIngressRuleArray {
	rules := networkingv1.NetworkPolicyIngressRuleArray{
		networkingv1.NetworkPolicyIngressRuleArgs{
			From:  networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: s.shardsSelector("worker")}},
			Ports: networkingv1.NetworkPolicyPortArray{tcpPort(MasterPort)},
		},
		networkingv1.NetworkPolicyIngressRuleArgs{
			From:  networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: &metav1.LabelSelectorArgs{}}},
			Ports: networkingv1.NetworkPolicyPortArray{tcpPort(WebPort), tcpPort(MetricsPort)},
		},
	}
	if clients := s.metricsClients(); clients != nil {
		rules = append(rules, networkingv1.NetworkPolicyIngressRuleArgs{
			From:  clients,
			Ports: networkingv1.NetworkPolicyPortArray{tcpPort(MetricsPort)},
		})
	}
	if s.exposure != nil {
		// The exposure's clients, on the web port only.
		rules = append(rules, networkingv1.NetworkPolicyIngressRuleArgs{
			From:  s.exposure.webClients(),
			Ports: networkingv1.NetworkPolicyPortArray{tcpPort(WebPort)},
		})
	}
	return rules
}

// egressRules let the pods reach the EgressCIDRs, the workers their master,
// and all of them the cluster DNS.
func (s *clusterSpec) egressRules() networkingv1.NetworkPolicyEgressRuleArray {
	to := networkingv1.NetworkPolicyPeerArray{}
	for _, cidr := range s.egressCIDRs {
		to = append(to, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	return networkingv1.NetworkPolicyEgressRuleArray{
		networkingv1.NetworkPolicyEgressRuleArgs{To: to},
		// Workers to their master.
		networkingv1.NetworkPolicyEgressRuleArgs{
			To:    networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: s.shardsSelector("master")}},
			Ports: networkingv1.NetworkPolicyPortArray{tcpPort(MasterPort)},
		},
		// Cluster DNS, to resolve the master's Service and the target.
		networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String("kube-system")}},
				PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
			}},
			Ports: networkingv1.NetworkPolicyPortArray{
				networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
				tcpPort(53),
			},
		},
	}
}

// tcpPort is port over TCP, as a NetworkPolicy names it.
func tcpPort(port int) networkingv1.NetworkPolicyPortArgs {
	return networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
}

// stackOwned marks an object's fields as the stack's. pulumi-kubernetes
// applies objects with Server-Side Apply, and a field someone changed with
// kubectl (scale, edit, patch) then belongs to kubectl's field manager: the
// next up failed on a field conflict instead of putting the stack's value
// back. This annotation makes the provider force its values
// (pulumi-kubernetes docs, "Managing resources with Server-Side Apply",
// handling field conflicts: pulumi.com/patchForce).
func stackOwned() pulumi.StringMap {
	return pulumi.StringMap{"pulumi.com/patchForce": pulumi.String("true")}
}

// schemeIfHTTPS is scheme as a field value when it is not the default.
func schemeIfHTTPS(scheme string) pulumi.StringPtrInput {
	if scheme == "HTTP" || scheme == "http" {
		return nil
	}
	return pulumi.String(scheme)
}
