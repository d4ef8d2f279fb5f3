package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkShards: from one shard to three and back, on the API server. The
// up to three shards creates the other two and replaces nothing of shard
// 0; every shard's master and worker Deployments come up, and the API
// server's own reading of each selector (kubectl get pods -l) finds, for
// every Service and Deployment, exactly its own shard's pod of its role,
// and for the shared NetworkPolicy every shard's masters and workers. The
// stack exports every shard's master Service, and one cmd/loadtest run
// drives the three masters as one test (checkShardedLoadTest). Back at one
// shard, the others are gone. The stack has 3 workers on entry, and leaves
// with them.
func checkShards(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, bin, workDir string, env map[string]string, kubeconfig string) {
	t.Helper()
	setConfig(t, ctx, stack, map[string]string{"shards": "3"})
	preview, err := stack.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if preview.ChangeSummary[apitype.OpReplace] != 0 || preview.ChangeSummary[apitype.OpCreateReplacement] != 0 || preview.ChangeSummary[apitype.OpDelete] != 0 {
		t.Errorf("preview of shards 1 -> 3: %v; want no replacement and no delete", preview.ChangeSummary)
	}
	t.Logf("preview of shards 1 -> 3: %v", preview.ChangeSummary)
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up of three shards: %v", err)
	}
	outputs, err := stack.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	instances := []string{"loadtest", "loadtest-1", "loadtest-2"}
	if got := fmt.Sprint(outputs["shardMasterServices"].Value); got != "[loadtest-master loadtest-1-master loadtest-2-master]" {
		t.Errorf("output shardMasterServices = %s", got)
	}
	if got := fmt.Sprint(outputs["shardWorkers"].Value, outputs["shards"].Value); got != "[1 1 1] 3" {
		t.Errorf("outputs shardWorkers and shards = %s, want [1 1 1] 3", got)
	}
	for _, instance := range instances {
		for _, role := range []string{"master", "worker"} {
			name := instance + "-" + role
			d := kube.deployment(name)
			if d.Spec.Replicas != 1 || d.Status.AvailableReplicas != 1 {
				t.Errorf("%s: %d of %d available, want 1 of 1", name, d.Status.AvailableReplicas, d.Spec.Replicas)
			}
			if pods := kube.podsSelected(t, labelSelector(d.Spec.Selector.MatchLabels, nil)); len(pods) != 1 || !strings.HasPrefix(pods[0], name+"-") {
				t.Errorf("Deployment %s's selector picks pods %v, want its own one", name, pods)
			}
		}
		var svc struct {
			Spec struct {
				Selector map[string]string `json:"selector"`
			} `json:"spec"`
		}
		kube.getJSON(&svc, "service/"+instance+"-master")
		if pods := kube.podsSelected(t, labelSelector(svc.Spec.Selector, nil)); len(pods) != 1 || !strings.HasPrefix(pods[0], instance+"-master-") {
			t.Errorf("Service %s-master selects pods %v, want its own master's one", instance, pods)
		}
		worker := kube.deployment(instance + "-worker")
		if host, _ := worker.Spec.Template.Spec.Containers[0].EnvValue("LOCUST_MASTER_NODE_HOST"); host != instance+"-master.locust.svc" {
			t.Errorf("%s-worker reaches the master at %q, want its own Service", instance, host)
		}
	}
	var policy struct {
		Spec struct {
			PodSelector selectorJSON `json:"podSelector"`
			Ingress     []struct {
				From []struct {
					PodSelector *selectorJSON `json:"podSelector"`
				} `json:"from"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	kube.getJSON(&policy, "networkpolicy/loadtest-master-ingress")
	for what, c := range map[string]struct {
		sel    selectorJSON
		prefix string
	}{
		"master-ingress's pods":    {policy.Spec.PodSelector, "-master-"},
		"master-ingress's clients": {*policy.Spec.Ingress[0].From[0].PodSelector, "-worker-"},
	} {
		pods := kube.podsSelected(t, labelSelector(c.sel.MatchLabels, c.sel.MatchExpressions))
		for _, instance := range instances {
			own := slices.DeleteFunc(slices.Clone(pods), func(p string) bool { return !strings.HasPrefix(p, instance+c.prefix) })
			if len(pods) != len(instances) || len(own) != 1 {
				t.Errorf("the NetworkPolicy's %s: %v, want one of each shard", what, pods)
				break
			}
		}
	}
	checkShardedLoadTest(t, ctx, bin, workDir, env, kube, kubeconfig, instances)

	setConfig(t, ctx, stack, map[string]string{"shards": "0"})
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up back to one shard: %v", err)
	}
	for _, object := range []string{"deployment/loadtest-1-master", "deployment/loadtest-2-worker", "service/loadtest-1-master"} {
		if kube.exists(object) {
			t.Errorf("%s is left after going back to one shard", object)
		}
	}
	if w := kube.deployment("loadtest-worker"); w.Spec.Replicas != 3 {
		t.Errorf("loadtest-worker has %d replicas back at one shard, want 3", w.Spec.Replicas)
	}
}

// checkShardedLoadTest runs `cmd/loadtest --stack local` once on the
// stack of three shards, one worker each: it reads the outputs with the
// real CLI, port-forwards through the API server to each shard's master
// Service, whose pod's KWOK PortForward points at a local master started
// from that shard's Deployments (localizeStack), and runs one test across
// the three. 7 users split by the shards' workers, 1:1:1, give 1 each and
// then 4/3 each of the other 4: 1 each again, and the user left over to
// shard 0, so 3, 2 and 2. All three load one target that counts what it
// served: the merged total is that count, and each shard's row holds its
// users, its workers and what its own master counted.
//
// One Locust version is enough here: the newest this machine has, which
// under .ci/run is 2.46.7, the version of the stack's default image
// (Pulumi.yaml's image); the several-stacks tests of cmd/loadtest run the
// same merge on every version the suite runs, and three masters of each
// would triple this step.
func checkShardedLoadTest(t *testing.T, ctx context.Context, bin, workDir string, env map[string]string, kube *kubectl, kubeconfig string, instances []string) {
	t.Helper()
	have, _ := locusttest.Versions()
	if len(have) == 0 {
		t.Log("skipped the sharded load test: no Locust version here (checkLoadTest says why)")
		return
	}
	l := have[len(have)-1]
	command := loadTestCommand(t)
	t.Run("loadtest across shards on locust-"+l.Version, func(t *testing.T) {
		start := time.Now()
		target := fakeapps.Record(&fakeapps.BookinfoProductPage{})
		server := httptest.NewServer(target)
		defer server.Close()
		master0 := kube.deployment(instances[0] + "-master")
		mounted := locusttest.Mount(t, kube.configMapData(master0.Spec.Template.Spec.VolumeConfigMap("locustfiles")))
		var webURLs, pods []string
		var masters []*locusttest.Process
		for _, instance := range instances {
			master, worker := kube.deployment(instance+"-master"), kube.deployment(instance+"-worker")
			selected := kube.podsSelected(t, labelSelector(master.Spec.Selector.MatchLabels, nil))
			if len(selected) != 1 {
				t.Fatalf("%s-master's pods: %v", instance, selected)
			}
			pods = append(pods, selected[0])
			masterArgv, masterEnv, workerArgv, workerEnv, webPort := localizeStack(t, kube, l, master, worker, mounted, selected[0])
			masters = append(masters, locusttest.Start(t, l, instance+"-master", append(masterArgv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), masterEnv))
			locusttest.Start(t, l, instance+"-worker", workerArgv, workerEnv)
			webURLs = append(webURLs, fmt.Sprintf("http://127.0.0.1:%d", webPort))
		}
		// Each master holds its ports once its worker has joined it. Until
		// then a port FreePort picked for it is free, and the command's
		// port-forwards, which listen on ports the kernel picks, could take
		// it first (seen: a master failing "Address already in use").
		for i, m := range masters {
			locusttest.WaitFor(t, time.Now().Add(time.Minute), instances[i]+"-master's worker to join it", func() bool {
				return len(locusttest.ReadyWorkers(m.Output())) == 1 || !m.Running()
			})
			if !m.Running() {
				t.Fatalf("%s-master exited:\n%s", instances[i], m.Output())
			}
		}
		t.Cleanup(func() {
			// The PortForwards point at masters that are gone.
			if _, err := kube.run("", append([]string{"delete", "--ignore-not-found", "portforwards.kwok.x-k8s.io"}, pods...)...); err != nil {
				t.Error(err)
			}
		})

		results := t.TempDir()
		cmd := stackLoadTest(ctx, command, workDir, bin, kubeconfig, env, server.URL, 7, results)
		launched := time.Now()
		out, err := cmd.CombinedOutput()
		ran := time.Since(launched)
		if err != nil {
			t.Fatalf("cmd/loadtest --stack local on three shards: %v\n%s", err, out)
		}
		for _, want := range []string{"stack local: 3 shards,", "port-forward to service/loadtest-1-master in namespace locust", "progress: local/shard-2 users", "start skew: ", "verdict: PASS"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("cmd/loadtest output lacks %q:\n%s", want, out)
			}
		}
		runs, _ := filepath.Glob(filepath.Join(results, "local", "*", "summary.json"))
		if len(runs) != 1 {
			t.Fatalf("results: %v\n%s", runs, out)
		}
		var summary runreport.Summary
		if err := json.Unmarshal(must(os.ReadFile(runs[0])), &summary); err != nil {
			t.Fatal(err)
		}
		served := target.Total()
		if summary.Stats.Total.Requests == 0 || summary.Stats.Total.Requests != served || summary.Workers != 3 || len(summary.Stacks) != len(instances) {
			t.Fatalf("the target served %d requests; the merged result counts %d, %d workers, %d rows (want 3 of 1 worker each)\n%s",
				served, summary.Stats.Total.Requests, summary.Workers, len(summary.Stacks), out)
		}
		// Each shard's row against its own master's count, read from the
		// master itself: it keeps the run's stats until the next start.
		counted := 0
		for i, row := range summary.Stacks {
			master, err := locustapi.New(webURLs[i])
			if err != nil {
				t.Fatal(err)
			}
			d, err := master.Histograms(ctx)
			if err != nil {
				t.Fatal(err)
			}
			counted += int(d.Total.Requests)
			wantName, wantUsers := fmt.Sprintf("local/shard-%d", i), []int{3, 2, 2}[i]
			if row.Stack != wantName || row.Users != wantUsers || row.Workers != 1 || row.Total.Requests == 0 || int64(row.Total.Requests) != d.Total.Requests {
				t.Errorf("row %d: %s, %d users, %d workers, %d requests; want %s, %d users, 1 worker, and its master's %d requests",
					i, row.Stack, row.Users, row.Workers, row.Total.Requests, wantName, wantUsers, d.Total.Requests)
			}
		}
		if counted != served {
			t.Errorf("the three masters counted %d requests, the target served %d", counted, served)
		}
		swarmStarted := regexp.MustCompile(`swarm started [0-9.]+s after launch`).FindString(string(out))
		t.Logf("Locust %s: cmd/loadtest --stack local across 3 shards through 3 port-forwards: %s in all, the command %s (%s, a 4 s run, then the results saved), exit 0, %d requests (%d + %d + %d), as many as the target served; start skew %.1f ms",
			l.Version, time.Since(start).Round(time.Second), ran.Round(100*time.Millisecond), swarmStarted, summary.Stats.Total.Requests,
			summary.Stacks[0].Total.Requests, summary.Stacks[1].Total.Requests, summary.Stacks[2].Total.Requests, *summary.StartSkewMs)
	})
}

// selectorJSON is a label selector as the API server stores it.
type selectorJSON struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// labelSelector writes a selector as kubectl's -l takes it; only the In
// operator, the one the stack uses, is written.
func labelSelector(labels map[string]string, expressions []struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	for _, e := range expressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(e.Operator), strings.Join(e.Values, ",")))
	}
	return strings.Join(parts, ",")
}

// podsSelected are the names of the pods the API server finds for a label
// selector.
func (k *kubectl) podsSelected(t *testing.T, selector string) []string {
	t.Helper()
	out, err := k.run("", "get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}
