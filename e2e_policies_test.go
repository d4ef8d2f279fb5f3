package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// What the real API server holds of disruption, network and Pod Security
// after `pulumi up`: the objects as it stored them, and its own admission
// refusing a pod the restricted standard forbids.

// privilegedPod breaks the restricted Pod Security Standard in every way the
// Locust pods do not: root, privilege escalation, no seccomp profile.
const privilegedPod = `apiVersion: v1
kind: Pod
metadata:
  name: e2e-privileged
spec:
  containers:
  - name: c
    image: busybox:1.37
    securityContext:
      privileged: true
      runAsUser: 0
`

func checkPolicies(t *testing.T, kube *kubectl) {
	t.Helper()
	var pdbs struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				MaxUnavailable any `json:"maxUnavailable"`
				Selector       struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
			} `json:"spec"`
			Status struct {
				ExpectedPods       int `json:"expectedPods"`
				DisruptionsAllowed int `json:"disruptionsAllowed"`
			} `json:"status"`
		} `json:"items"`
	}
	kube.getJSON(&pdbs, "poddisruptionbudgets")
	budgets := map[string]string{}
	for _, p := range pdbs.Items {
		b, _ := json.Marshal(p.Spec.MaxUnavailable)
		budgets[p.Metadata.Name] = string(b)
		// The disruption controller has read the budget against the pods.
		if p.Metadata.Name == "loadtest-master" && p.Status.ExpectedPods == 1 && p.Status.DisruptionsAllowed != 0 {
			t.Errorf("the master's budget allows %d disruptions", p.Status.DisruptionsAllowed)
		}
	}
	if budgets["loadtest-master"] != "0" || budgets["loadtest-worker"] != `"10%"` {
		t.Errorf("PodDisruptionBudgets in the cluster: %v", budgets)
	}

	var policies struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec json.RawMessage `json:"spec"`
		} `json:"items"`
	}
	kube.getJSON(&policies, "networkpolicies")
	specs := map[string]string{}
	for _, p := range policies.Items {
		var compact bytes.Buffer
		if err := json.Compact(&compact, p.Spec); err != nil {
			t.Fatal(err)
		}
		specs[p.Metadata.Name] = compact.String()
	}
	if s := specs["loadtest-deny-ingress"]; !strings.Contains(s, `"policyTypes":["Ingress"]`) || strings.Contains(s, `"ingress"`) {
		t.Errorf("deny-ingress policy in the cluster: %s", s)
	}
	if s := specs["loadtest-master-ingress"]; !strings.Contains(s, `"port":5557`) || !strings.Contains(s, `"port":8089`) {
		t.Errorf("master-ingress policy in the cluster: %s", s)
	}

	var ns struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	kube.getJSON(&ns, "namespace/locust")
	if ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v", ns.Metadata.Labels)
	}
	// The Deployments are Available (checkDeployed), so the API server
	// admitted their pods under "restricted"; and it does enforce it here.
	out, err := kube.run(privilegedPod, "apply", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
		t.Errorf("a privileged pod in the namespace: %v %s; want it refused by Pod Security admission", err, out)
	}
	t.Logf("policies: budgets %v, %d NetworkPolicies, Locust pods admitted under restricted Pod Security, a privileged pod refused", budgets, len(specs))
}

// checkLoadTestOutputs reads the stack's outputs as cmd/loadtest does, with
// the real CLI's `pulumi stack output --json`.
func checkLoadTestOutputs(t *testing.T, ctx context.Context, pulumi, workDir string, env map[string]string) {
	t.Helper()
	environ := os.Environ()
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	out, err := stackoutputs.Read(ctx, pulumi, workDir, "local", environ)
	if err != nil {
		t.Fatal(err)
	}
	if out.Workers != 2 || out.Namespace != "locust" || out.MasterService != "loadtest-master" || out.ResultsBucket != "" || out.Image != "locustio/locust:2.46.7" {
		t.Errorf("stack outputs as cmd/loadtest reads them: %+v", out)
	}
	// Pulumi.yaml's defaults, as the stack hands them to the command.
	lt := *out.LoadTest
	if lt.Users != 10 || lt.SpawnRate != 1 || lt.RunTime != "1m0s" || lt.MaxFailRatio != -1 || lt.MaxP95Ms != 0 {
		t.Errorf("loadTest output: %+v", lt)
	}
	t.Logf("stack outputs read through the CLI as cmd/loadtest does: %d workers, loadTest %+v", out.Workers, lt)
}
