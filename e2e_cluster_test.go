package main

// The end-to-end test's control plane and the kubectl it reads it with.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
)

// cluster is a KWOK control plane started by tools/cluster-up.sh.
type cluster struct{ kubeconfig, context string }

// fakeNode is a node KWOK pretends to run: pods bound to it become Running
// and Ready without a kubelet.
const fakeNode = `apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    type: kwok
status:
  allocatable: {cpu: "32", memory: 64Gi, pods: "110"}
  capacity: {cpu: "32", memory: 64Gi, pods: "110"}
`

func startCluster(t *testing.T, bin string) cluster {
	t.Helper()
	name := "locust-e2e"
	work := t.TempDir()
	out, err := exec.Command("tools/cluster-up.sh", bin, name, work).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("tools/cluster-up.sh: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("tools/cluster-down.sh", bin, name, work).CombinedOutput(); err != nil {
			t.Errorf("tools/cluster-down.sh: %v\n%s", err, out)
		}
	})
	kubeconfig := filepath.Join(work, "clusters", name, "kubeconfig.yaml")
	if !strings.Contains(string(out), kubeconfig) {
		t.Fatalf("tools/cluster-up.sh printed %q; expected the kubeconfig %s", out, kubeconfig)
	}
	return cluster{kubeconfig: kubeconfig, context: "kwok-" + name}
}

// kubectl asks the API server, the way an operator would.
type kubectl struct {
	t          *testing.T
	path       string // v1.34, the API server's version: the machine's may be too old
	kubeconfig string
}

func (k *kubectl) run(stdin string, args ...string) ([]byte, error) {
	cmd := exec.Command(k.path, append([]string{"--kubeconfig", k.kubeconfig, "--namespace", "locust"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func (k *kubectl) apply(manifest string) {
	k.t.Helper()
	if _, err := k.run(manifest, "apply", "-f", "-"); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kubectl) exists(object string) bool {
	_, err := k.run("", "get", object)
	return err == nil
}

func (k *kubectl) getJSON(into any, args ...string) {
	k.t.Helper()
	out, err := k.run("", append([]string{"get", "-o", "json"}, args...)...)
	if err != nil {
		k.t.Fatal(err)
	}
	if err := json.Unmarshal(out, into); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kubectl) deployment(name string) k8sobject.Deployment {
	k.t.Helper()
	var d k8sobject.Deployment
	k.getJSON(&d, "deployment/"+name)
	return d
}

func (k *kubectl) configMapData(name string) map[string]string {
	k.t.Helper()
	var cm k8sobject.ConfigMap
	k.getJSON(&cm, "configmap/"+name)
	return cm.Data
}

// replicaSets are the names of the ReplicaSets a Deployment owns.
func (k *kubectl) replicaSets(deployment string) []string {
	k.t.Helper()
	var list struct {
		Items []struct {
			Metadata k8sobject.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	k.getJSON(&list, "replicasets")
	var names []string
	for _, rs := range list.Items {
		for _, o := range rs.Metadata.OwnerReferences {
			if o.Name == deployment {
				names = append(names, rs.Metadata.Name)
			}
		}
	}
	return names
}

// ours lists the objects the stack created that still exist.
func (k *kubectl) ours() []string {
	out, err := k.run("", "get", "deployments,services,configmaps,replicasets,pods", "--all-namespaces",
		"-l", "app.kubernetes.io/part-of=locust-eks", "-o", "name")
	if err != nil {
		k.t.Fatal(err)
	}
	left := strings.Fields(string(out))
	if k.exists("namespace/locust") {
		left = append(left, "namespace/locust")
	}
	return left
}

// resourceVersions fingerprints every object of ours.
func (k *kubectl) resourceVersions() map[string]string {
	k.t.Helper()
	var list struct {
		Items []struct {
			Kind     string               `json:"kind"`
			Metadata k8sobject.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	k.getJSON(&list, "deployments,services,configmaps", "-l", "app.kubernetes.io/part-of=locust-eks")
	versions := map[string]string{}
	for _, item := range list.Items {
		versions[item.Kind+"/"+item.Metadata.Name] = item.Metadata.ResourceVersion
	}
	return versions
}

func (k *kubectl) waitGone(t *testing.T, object string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); k.exists(object); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Errorf("%s still exists %s after destroy", object, timeout)
			return
		}
	}
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

// timingTable collects how long each step took, printed at the end.
type timingTable struct {
	rows []string
}

func (tt *timingTable) start(step string) func() {
	t0 := time.Now()
	return func() { tt.rows = append(tt.rows, fmt.Sprintf("%-32s %6.1fs", step, time.Since(t0).Seconds())) }
}

func (tt *timingTable) log(t *testing.T) {
	t.Logf("end-to-end timings:\n%s", strings.Join(tt.rows, "\n"))
}
