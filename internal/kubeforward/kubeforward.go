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
	"time"

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

// RESTConfig is the client configuration Config names; the port-forward and
// any other client of the same cluster read it alike.
func (c Config) RESTConfig() (*rest.Config, error) {
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

// Forward is an open port-forward. It outlives a lost connection: when the
// pod's end breaks (the pod not yet listening, restarted, replaced),
// client-go's forwarder stops and its local port closes, so Forward opens
// a new one on the same local port to the Service's ready pod, once a
// second, until it is closed. Connections in between are refused, and the
// caller's retries carry on.
type Forward struct {
	// LocalPort is the port on 127.0.0.1 that reaches the pod.
	LocalPort int
	// Pod is the pod the traffic first went to.
	Pod  string
	stop chan struct{}
	done chan error
}

// Close ends the forward.
func (f *Forward) Close() error {
	close(f.stop)
	return <-f.done
}

// service is one port of a Service, to forward to.
type service struct {
	restConfig      *rest.Config
	client          *kubernetes.Clientset
	namespace, name string
	port            int
}

// ToService forwards a free local port to port of the Service's first
// ready pod, resolving the Service port's target port (by number or name)
// as kube-proxy would.
func ToService(ctx context.Context, cfg Config, namespace, name string, port int) (*Forward, error) {
	restConfig, err := cfg.RESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	svc := service{restConfig: restConfig, client: client, namespace: namespace, name: name, port: port}
	f := &Forward{stop: make(chan struct{}), done: make(chan error, 1)}
	pod, local, lost, err := svc.forward(ctx, 0, f.stop)
	if err != nil {
		close(f.stop)
		return nil, err
	}
	f.Pod, f.LocalPort = pod, local
	go f.keep(ctx, svc, lost)
	return f, nil
}

// keep reopens the forward on the same local port whenever it is lost.
func (f *Forward) keep(ctx context.Context, svc service, lost <-chan error) {
	for {
		select {
		case <-f.stop:
			f.done <- nil
			return
		case <-lost:
		}
		for {
			select {
			case <-f.stop:
				f.done <- nil
				return
			case <-time.After(time.Second):
			}
			if _, _, again, err := svc.forward(ctx, f.LocalPort, f.stop); err == nil {
				lost = again
				break
			}
		}
	}
}

// forward opens a port-forward from localPort (0: a free one) to the
// Service's ready pod, and returns the pod, the local port and a channel
// that yields when the forward ends.
func (svc service) forward(ctx context.Context, localPort int, stop chan struct{}) (string, int, <-chan error, error) {
	s, err := svc.client.CoreV1().Services(svc.namespace).Get(ctx, svc.name, metav1.GetOptions{})
	if err != nil {
		return "", 0, nil, fmt.Errorf("Service %s/%s: %w", svc.namespace, svc.name, err)
	}
	i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == svc.port })
	if i < 0 {
		return "", 0, nil, fmt.Errorf("Service %s/%s has no port %d", svc.namespace, svc.name, svc.port)
	}
	target := s.Spec.Ports[i].TargetPort
	pods, err := svc.client.CoreV1().Pods(svc.namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.Spec.Selector).String()})
	if err != nil {
		return "", 0, nil, fmt.Errorf("pods of Service %s/%s: %w", svc.namespace, svc.name, err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if ready(&pods.Items[i]) {
			pod = &pods.Items[i]
			break
		}
	}
	if pod == nil {
		return "", 0, nil, fmt.Errorf("Service %s/%s has no ready pod (%d pods): is the master running?", svc.namespace, svc.name, len(pods.Items))
	}
	podPort, err := containerPort(pod, target)
	if err != nil {
		return "", 0, nil, err
	}

	transport, upgrader, err := spdy.RoundTripperFor(svc.restConfig)
	if err != nil {
		return "", 0, nil, err
	}
	url := svc.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(svc.namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	readyCh := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("%d:%d", localPort, podPort)}, stop, readyCh, io.Discard, io.Discard)
	if err != nil {
		return "", 0, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	select {
	case <-readyCh:
	case err := <-done:
		return "", 0, nil, fmt.Errorf("port-forward to pod %s/%s: %w", svc.namespace, pod.Name, err)
	case <-ctx.Done():
		return "", 0, nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		return "", 0, nil, fmt.Errorf("port-forward to pod %s/%s: no local port: %v", svc.namespace, pod.Name, err)
	}
	return pod.Name, int(ports[0].Local), done, nil
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
