package main

import (
	"context"
	"fmt"

	"github.com/locust-eks/locust-on-eks/internal/kubeforward"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
	cfg, err := kubeforward.Config{Kubeconfig: kubeconfig, Context: kubeContext}.RESTConfig()
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
