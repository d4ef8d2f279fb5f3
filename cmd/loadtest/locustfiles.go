package main

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// locustfilesAnnotation is the annotation the LocustCluster puts on its
// pods: the SHA-256 of the locustfiles they mount (components/podtemplate.go).
const locustfilesAnnotation = "locust-eks/locustfiles-sha256"

// locustfilesChecksum reads the locustfiles' checksum from the master pod,
// through the cluster the stack's outputs name: its kubeconfig, or else the
// local kubeconfig files' context kubeContext. It is known only when
// loadtest reaches the master through the cluster; behind --master-url
// nothing tells which pod answers.
func locustfilesChecksum(ctx context.Context, kubeconfig []byte, kubeContext, namespace, pod string) (string, error) {
	cfg, err := restConfig(kubeconfig, kubeContext)
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("the master pod %s/%s: %w", namespace, pod, err)
	}
	sum, ok := p.Annotations[locustfilesAnnotation]
	if !ok {
		return "", fmt.Errorf("the master pod %s/%s has no %s annotation (a stack deployed before it)", namespace, pod, locustfilesAnnotation)
	}
	return sum, nil
}

// restConfig is how kubeforward reaches the cluster: the kubeconfig's
// content, or else $KUBECONFIG or ~/.kube/config, at context kubeContext
// ("" for the current one).
func restConfig(kubeconfig []byte, kubeContext string) (*rest.Config, error) {
	if len(kubeconfig) > 0 {
		cfg, err := clientcmd.Load(kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("reading the kubeconfig: %w", err)
		}
		return clientcmd.NewNonInteractiveClientConfig(*cfg, kubeContext, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
}
