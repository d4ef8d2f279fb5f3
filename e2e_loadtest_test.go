package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// stackLoadTest is `cmd/loadtest --stack local` as a user runs it in the
// stack's workspace, with the real CLI and the control plane's kubeconfig:
// a 4-second run of users against host, its results in the directory
// results.
func stackLoadTest(ctx context.Context, command, workDir, bin, kubeconfig string, env map[string]string, host string, users int, results string) *exec.Cmd {
	n := strconv.Itoa(users)
	cmd := exec.CommandContext(ctx, command, "--stack", "local", "--host", host, "--users", n, "--spawn-rate", n,
		"--run-time", "4s", "--wait-workers", "60s", "--progress-interval", "1s", "--results-dir", results, "--max-fail-ratio", "0")
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// checkLoadTest runs cmd/loadtest as a user would, `--stack local`: it reads
// the stack's outputs with the real CLI, opens a port-forward through the
// real API server to the master pod, and runs a test. KWOK's pods have no
// kubelet, so the master and workers are real Locust processes started here
// from the Deployments the API server holds, and a KWOK PortForward points
// the master pod's web port at the local master.
func checkLoadTest(t *testing.T, ctx context.Context, bin, workDir, locustfiles string, env map[string]string, kube *kubectl, kubeconfig string) {
	t.Helper()
	command := loadTestCommand(t)
	master, worker := kube.deployment("loadtest-master"), kube.deployment("loadtest-worker")
	// The files as the API server holds them in the mounted ConfigMap.
	mounted := locusttest.Mount(t, kube.configMapData(master.Spec.Template.Spec.VolumeConfigMap("locustfiles")))
	pod := strings.TrimSpace(string(must(kube.run("", "get", "pods", "-l", "app.kubernetes.io/component=master", "-o", "jsonpath={.items[0].metadata.name}"))))

	// In turn: the versions share the master pod and its PortForward.
	locusttest.EachInTurn(t, func(t *testing.T, l *locusttest.Locust) {
		target := fakeapps.Record(&fakeapps.BookinfoProductPage{})
		server := httptest.NewServer(target)
		defer server.Close()
		masterArgv, masterEnv, workerArgv, workerEnv, _ := localizeStack(t, kube, l, master, worker, mounted, pod)

		results := t.TempDir()
		cmd := stackLoadTest(ctx, command, workDir, bin, kubeconfig, env, server.URL, 4, results)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The master starts after the command has opened its port-forward,
		// as a master pod still starting does: the first connections
		// through the forward are refused at the pod's end, which ends
		// client-go's forwarder; the command must carry on through a new
		// one (internal/kubeforward).
		time.Sleep(3 * time.Second)
		locusttest.Start(t, l, "master", append(masterArgv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), masterEnv)
		for i := range 2 {
			locusttest.Start(t, l, fmt.Sprintf("worker-%d", i+1), workerArgv, workerEnv)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("cmd/loadtest --stack local: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		for _, want := range []string{"stack local: 2 workers", "port-forward to service/loadtest-master in namespace locust", "forwarding 127.0.0.1:", "verdict: PASS"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("cmd/loadtest output lacks %q:\n%s", want, stdout.String())
			}
		}
		runs, _ := filepath.Glob(filepath.Join(results, "local", "*", "summary.json"))
		if len(runs) != 1 {
			t.Fatalf("results: %v", runs)
		}
		var summary runreport.Summary
		if err := json.Unmarshal(must(os.ReadFile(runs[0])), &summary); err != nil {
			t.Fatal(err)
		}
		// Every request the target answered is in the saved results.
		if served := target.Total(); summary.Stats.Total.Requests != served {
			t.Errorf("the target served %d requests, summary.json counts %d", served, summary.Stats.Total.Requests)
		}
		t.Logf("Locust %s: cmd/loadtest --stack local through the API server's port-forward: %s, exit 0, %d requests, as many as the target served",
			l.Version, time.Since(start).Round(time.Second), summary.Stats.Total.Requests)
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// loadTestBuild is cmd/loadtest as built for one TestEndToEnd: its load-test
// step and its cancelled campaign run the same command, built once.
var loadTestBuild struct {
	sync.Mutex
	owner *testing.T
	path  string
}

// loadTestCommand builds cmd/loadtest into t's temporary folder, once per t.
func loadTestCommand(t *testing.T) string {
	t.Helper()
	loadTestBuild.Lock()
	defer loadTestBuild.Unlock()
	if loadTestBuild.owner == t {
		return loadTestBuild.path
	}
	command := filepath.Join(t.TempDir(), "loadtest")
	if out, err := exec.Command("go", "build", "-o", command, "./cmd/loadtest").CombinedOutput(); err != nil {
		t.Fatalf("building cmd/loadtest: %v\n%s", err, out)
	}
	loadTestBuild.owner, loadTestBuild.path = t, command
	return command
}

// localizeStack renders a shard's master and worker Deployments as local
// processes of Locust l (free ports, the mounted locustfiles, the workers
// pointed at the local master instead of the master Service their
// LOCUST_MASTER_NODE_HOST names), and points the master pod's KWOK
// PortForward at that master's web port, webPort, so that a port-forward
// through the API server reaches it.
func localizeStack(t *testing.T, kube *kubectl, l *locusttest.Locust, master, worker k8sobject.Deployment, mounted, pod string) (masterArgv, masterEnv, workerArgv, workerEnv []string, webPort int) {
	t.Helper()
	ports := map[int]int{5557: locusttest.FreePort(t), 8089: locusttest.FreePort(t), 9646: locusttest.FreePort(t)}
	masterAddress, _ := worker.Spec.Template.Spec.Containers[0].EnvValue("LOCUST_MASTER_NODE_HOST")
	localize := func(d k8sobject.Deployment) (argv, env []string) {
		argv, env, err := locusttest.Localize(d.Spec.Template.Spec.Containers[0], l, mounted, ports, masterAddress)
		if err != nil {
			t.Fatal(err)
		}
		return argv, env
	}
	masterArgv, masterEnv = localize(master)
	workerArgv, workerEnv = localize(worker)
	kube.apply(fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: %s
  namespace: locust
spec:
  forwards:
  - ports: [8089]
    target:
      address: 127.0.0.1
      port: %d
`, pod, ports[8089]))
	return masterArgv, masterEnv, workerArgv, workerEnv, ports[8089]
}
