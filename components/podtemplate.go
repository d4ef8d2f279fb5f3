package components

import (
	"maps"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// podTemplate completes container for role and wraps it in a pod template
// that mounts files and, when secretEnv is not nil, takes its variables.
func (s *clusterSpec) podTemplate(role string, files *corev1.ConfigMap, secretEnv *corev1.Secret, roleEnv []corev1.EnvVarInput, container *corev1.ContainerArgs) *corev1.PodTemplateSpecArgs {
	s.completeContainer(role, secretEnv, roleEnv, container)
	pod := &corev1.PodSpecArgs{
		// Service links would inject variables such as LOCUST_*_PORT=tcp://...
		// for every Service in the namespace; Locust parses those as flags.
		EnableServiceLinks:           pulumi.Bool(false),
		AutomountServiceAccountToken: pulumi.Bool(false),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(locustUID),
			RunAsGroup:     pulumi.Int(locustUID),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		NodeSelector:                  pulumi.ToStringMap(s.placement[role].NodeSelector),
		Tolerations:                   tolerations(s.placement[role].Tolerations),
		TerminationGracePeriodSeconds: pulumi.Int(terminationGracePeriodSeconds),
		Containers:                    corev1.ContainerArray{container},
		Volumes: corev1.VolumeArray{
			corev1.VolumeArgs{
				Name: pulumi.String("locustfiles"),
				ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
					Name: files.Metadata.Name(),
				},
			},
			corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
		},
	}
	if role == "worker" {
		pod.TopologySpreadConstraints = s.workerSpread()
	}

	annotations := pulumi.StringMap{
		"locust-eks/locustfiles-sha256": pulumi.String(s.checksum),
	}
	if role == "master" {
		maps.Copy(annotations, s.scrapeAnnotations())
	}
	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Labels:      pulumi.ToStringMap(s.labels(role)),
			Annotations: annotations,
		},
		Spec: pod,
	}
}

// completeContainer gives container what every Locust container has: the
// image and command, the target and the env, the mounts, and a locked-down
// security context.
func (s *clusterSpec) completeContainer(role string, secretEnv *corev1.Secret, roleEnv []corev1.EnvVarInput, container *corev1.ContainerArgs) {
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("LOCUST_HOST"), Value: s.targetHost},
	}
	env = append(env, roleEnv...)
	for _, e := range s.env {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(e.Name), Value: e.Value})
	}

	container.Name = pulumi.String(role)
	container.Image = pulumi.String(s.image)
	// Spelled out rather than left to the image's entrypoint, so that the pod
	// spec alone says what runs (and tests can run it outside a cluster).
	container.Command = pulumi.ToStringArray([]string{"locust"})
	container.Env = env
	if secretEnv != nil {
		container.EnvFrom = corev1.EnvFromSourceArray{
			corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secretEnv.Metadata.Name()}},
		}
	}
	container.VolumeMounts = corev1.VolumeMountArray{
		corev1.VolumeMountArgs{Name: pulumi.String("locustfiles"), MountPath: pulumi.String(LocustfileMountPath), ReadOnly: pulumi.Bool(true)},
		corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
	}
	container.SecurityContext = &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
	}
}

// workerSpread spreads workers over nodes so that one node's CPU does not
// cap the whole test; ScheduleAnyway keeps small clusters usable.
func (s *clusterSpec) workerSpread() corev1.TopologySpreadConstraintArray {
	return corev1.TopologySpreadConstraintArray{
		corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String("kubernetes.io/hostname"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
			LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.selector("worker"))},
		},
	}
}

func (r Resources) args() *corev1.ResourceRequirementsArgs {
	requests, limits := pulumi.StringMap{}, pulumi.StringMap{}
	put := func(m pulumi.StringMap, key, quantity string) {
		if quantity != "" {
			m[key] = pulumi.String(quantity)
		}
	}
	put(requests, "cpu", r.CPURequest)
	put(requests, "memory", r.MemoryRequest)
	put(limits, "cpu", r.CPULimit)
	put(limits, "memory", r.MemoryLimit)
	return &corev1.ResourceRequirementsArgs{Requests: requests, Limits: limits}
}

func servicePort(name string, port int) corev1.ServicePortInput {
	return corev1.ServicePortArgs{
		Name:       pulumi.String(name),
		Port:       pulumi.Int(port),
		TargetPort: pulumi.String(name),
		Protocol:   pulumi.String("TCP"),
	}
}

func containerPort(name string, port int) corev1.ContainerPortInput {
	return corev1.ContainerPortArgs{
		Name:          pulumi.String(name),
		ContainerPort: pulumi.Int(port),
		Protocol:      pulumi.String("TCP"),
	}
}

func tolerations(ts []Toleration) corev1.TolerationArray {
	var out corev1.TolerationArray
	for _, t := range ts {
		arg := corev1.TolerationArgs{}
		if t.Key != "" {
			arg.Key = pulumi.String(t.Key)
		}
		if t.Operator != "" {
			arg.Operator = pulumi.String(t.Operator)
		}
		if t.Value != "" {
			arg.Value = pulumi.String(t.Value)
		}
		if t.Effect != "" {
			arg.Effect = pulumi.String(t.Effect)
		}
		out = append(out, arg)
	}
	return out
}
