// Package k8sobject holds the Kubernetes objects this project creates, as far
// as its tests read them: decoded from the JSON of a mocked Pulumi resource's
// state or of `kubectl get -o json`, which have the same shape.
package k8sobject

// ObjectMeta is the metadata of any object.
type ObjectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	UID             string            `json:"uid"`
	ResourceVersion string            `json:"resourceVersion"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	OwnerReferences []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"ownerReferences"`
}

// EnvVar is one environment variable of a container.
type EnvVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"secretKeyRef"`
	} `json:"valueFrom"`
}

// Container is one container of a pod template.
type Container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []EnvVar `json:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `json:"name"`
		} `json:"secretRef"`
	} `json:"envFrom"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
	ReadinessProbe *struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"` // a number or a port name
		} `json:"httpGet"`
	} `json:"readinessProbe"`
	Resources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
}

// EnvValue returns the value of the container's variable name, if it has it.
func (c Container) EnvValue(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// PodSpec is the spec of a pod template. Pointers tell unset from false.
type PodSpec struct {
	EnableServiceLinks           *bool             `json:"enableServiceLinks"`
	AutomountServiceAccountToken *bool             `json:"automountServiceAccountToken"`
	NodeSelector                 map[string]string `json:"nodeSelector"`
	Tolerations                  []struct {
		Key      string `json:"key"`
		Operator string `json:"operator"`
		Value    string `json:"value"`
		Effect   string `json:"effect"`
	} `json:"tolerations"`
	TerminationGracePeriodSeconds *int `json:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   *bool `json:"runAsNonRoot"`
		RunAsUser      *int  `json:"runAsUser"`
		RunAsGroup     *int  `json:"runAsGroup"`
		SeccompProfile struct {
			Type string `json:"type"`
		} `json:"seccompProfile"`
	} `json:"securityContext"`
	Containers []Container `json:"containers"`
	Volumes    []struct {
		Name      string `json:"name"`
		ConfigMap *struct {
			Name string `json:"name"`
		} `json:"configMap"`
	} `json:"volumes"`
	TopologySpreadConstraints []struct {
		TopologyKey string `json:"topologyKey"`
	} `json:"topologySpreadConstraints"`
}

// VolumeConfigMap is the ConfigMap the named volume mounts, or "".
func (p PodSpec) VolumeConfigMap(volume string) string {
	for _, v := range p.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			return v.ConfigMap.Name
		}
	}
	return ""
}

// Deployment is an apps/v1 Deployment.
type Deployment struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Replicas int `json:"replicas"`
		Strategy struct {
			Type string `json:"type"`
		} `json:"strategy"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata ObjectMeta `json:"metadata"`
			Spec     PodSpec    `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
	Status struct {
		AvailableReplicas int `json:"availableReplicas"`
	} `json:"status"`
}

// Service is a core/v1 Service.
type Service struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Type     string            `json:"type"`
		Selector map[string]string `json:"selector"`
		Ports    []struct {
			Name       string `json:"name"`
			Port       int    `json:"port"`
			TargetPort any    `json:"targetPort"` // a number or a port name
		} `json:"ports"`
	} `json:"spec"`
}

// ConfigMap is a core/v1 ConfigMap.
type ConfigMap struct {
	Metadata ObjectMeta        `json:"metadata"`
	Data     map[string]string `json:"data"`
}
