// Package kubeforward forwards a local port to a Service's pod through the
// Kubernetes API server, as `kubectl port-forward service/NAME` does, from
// inside the process: no kubectl needed.
package kubeforward

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Config says how to reach the cluster: a kubeconfig's content (as the EKS
// stack exports it), or else the kubeconfig files of $KUBECONFIG or
// ~/.kube/config; Context picks a context ("" for the current one).
type Config struct {
	Kubeconfig []byte
	Context    string
}

func (c Config) rest() (*rest.Config, error) {
	if len(c.Kubeconfig) > 0 {
		cfg, err := clientcmd.Load(c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("reading the kubeconfig: %w", err)
		}
		return clientcmd.NewNonInteractiveClientConfig(*cfg, c.Context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
}

// Forward is an open port-forward.
type Forward struct {
	// LocalPort is the port on 127.0.0.1 that reaches the pod.
	LocalPort int
	// Pod is the pod the traffic goes to.
	Pod  string
	stop chan struct{}
	done chan error
}

// Close ends the forward.
func (f *Forward) Close() error {
	close(f.stop)
	return <-f.done
}

// ToService forwards a free local port to port of the Service's first
// ready pod, resolving the Service port's target port (by number or name)
// as kube-proxy would.
func ToService(ctx context.Context, cfg Config, namespace, service string, port int) (*Forward, error) {
	restConfig, err := cfg.rest()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	svc, err := client.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("Service %s/%s: %w", namespace, service, err)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port })
	if i < 0 {
		return nil, fmt.Errorf("Service %s/%s has no port %d", namespace, service, port)
	}
	target := svc.Spec.Ports[i].TargetPort
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return nil, fmt.Errorf("pods of Service %s/%s: %w", namespace, service, err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if ready(&pods.Items[i]) {
			pod = &pods.Items[i]
			break
		}
	}
	if pod == nil {
		return nil, fmt.Errorf("Service %s/%s has no ready pod (%d pods): is the master running?", namespace, service, len(pods.Items))
	}
	podPort, err := containerPort(pod, target)
	if err != nil {
		return nil, err
	}

	transport, upgrader, err := spdy.RoundTripperFor(restConfig)
	if err != nil {
		return nil, err
	}
	url := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	f := &Forward{Pod: pod.Name, stop: make(chan struct{}), done: make(chan error, 1)}
	readyCh := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", podPort)}, f.stop, readyCh, io.Discard, io.Discard)
	if err != nil {
		return nil, err
	}
	go func() { f.done <- pf.ForwardPorts() }()
	select {
	case <-readyCh:
	case err := <-f.done:
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", namespace, pod.Name, err)
	case <-ctx.Done():
		close(f.stop)
		return nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		close(f.stop)
		return nil, fmt.Errorf("port-forward to pod %s/%s: no local port: %v", namespace, pod.Name, err)
	}
	f.LocalPort = int(ports[0].Local)
	return f, nil
}

func ready(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerPort resolves a Service's target port on pod: a number is the
// number, a name is the container port of that name.
func containerPort(pod *corev1.Pod, target intstr.IntOrString) (int, error) {
	if target.Type == intstr.Int {
		return target.IntValue(), nil
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == target.StrVal {
				return int(p.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no container port named %q", pod.Name, target.StrVal)
}
