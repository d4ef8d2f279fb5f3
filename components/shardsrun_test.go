package components

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestShardWorkersJoinTheirOwnMaster starts, from the rendering of a
// cluster of two shards (three workers: two and one), both masters and
// every worker as real Locust processes. A worker dials whatever address
// its rendered LOCUST_MASTER_NODE_HOST names: each shard's Service address
// resolves to its own master's local ports, as cluster DNS resolves it to
// that Service, and an address naming no Service fails the test. Each
// master then counts exactly its own shard's workers: all three are
// accounted for, so a worker of one shard on the other's master would show.
func TestShardWorkersJoinTheirOwnMaster(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		target := newFakeTarget(t, targets["quarkus_super_heroes.py"].app())
		args := testArgs(t)
		args.Run = []string{"quarkus_super_heroes.py"}
		args.Workers, args.Shards = 3, 2
		r := deployShardsFor(t, args, target.URL)

		dir := locusttest.Mount(t, r.files)
		// Each Service, by its cluster DNS name, with local ports for its
		// master's.
		services := map[string]map[int]int{}
		for _, name := range r.services {
			services[name+".locust.svc"] = map[int]int{MasterPort: freePort(t), WebPort: freePort(t), MetricsPort: freePort(t)}
		}
		var apis []*locustapi.Client
		for i, name := range r.services {
			address := name + ".locust.svc"
			ports := services[address]
			argv, env, err := locusttest.Localize(r.containers[name], l, dir, ports, address)
			if err != nil {
				t.Fatal(err)
			}
			start(t, l, fmt.Sprintf("shard-%d-master", i), append(argv, "--master-bind-host=127.0.0.1", "--web-host=127.0.0.1"), env)
			api, err := locustapi.New(fmt.Sprintf("http://127.0.0.1:%d", ports[WebPort]))
			if err != nil {
				t.Fatal(err)
			}
			apis = append(apis, api)
		}
		for i, worker := range r.workers {
			c := r.containers[worker]
			address, _ := c.EnvValue("LOCUST_MASTER_NODE_HOST")
			ports, known := services[address]
			if !known {
				t.Fatalf("shard %d's workers dial %q, which is no shard's master Service", i, address)
			}
			argv, env, err := locusttest.Localize(c, l, dir, ports, address)
			if err != nil {
				t.Fatal(err)
			}
			for n := range r.replicas[worker] {
				start(t, l, fmt.Sprintf("shard-%d-worker-%d", i, n+1), argv, env)
			}
		}

		want := []int{2, 1}
		got := make([]int, len(apis))
		waitFor(t, time.Now().Add(60*time.Second), fmt.Sprintf("the masters counting %v workers", want), func() bool {
			for i, api := range apis {
				s, err := api.Stats(context.Background())
				if err != nil {
					return false
				}
				got[i] = s.ConnectedWorkers()
			}
			return fmt.Sprint(got) == fmt.Sprint(want)
		})
		t.Logf("workers per master: %v", got)
	})
}

// shardsRendering is what a real-process test needs of a rendered
// cluster of shards: the mounted files, and per shard its master Service's
// name, its master's and its workers' containers and the workers' count.
type shardsRendering struct {
	files      map[string]string
	services   []string // shard 0 first
	workers    []string // the worker Deployments, shard 0 first
	containers map[string]k8sobject.Container
	replicas   map[string]int
}

// deployShardsFor renders args against target and reads each shard's
// objects by the names shardMasterServiceNames gives.
func deployShardsFor(t *testing.T, args *LocustClusterArgs, target string) shardsRendering {
	t.Helper()
	args.TargetHost = pulumi.String(target)
	r := deployShards(t, args)
	out := shardsRendering{containers: map[string]k8sobject.Container{}, replicas: map[string]int{}}
	names, _ := r.outputs["shardMasterServiceNames"].([]string)
	if len(names) != max(args.Shards, 1) {
		t.Fatalf("shardMasterServiceNames %v, want one per shard", r.outputs["shardMasterServiceNames"])
	}
	for _, service := range names {
		worker := service[:len(service)-len("-master")] + "-worker"
		out.services = append(out.services, service)
		out.workers = append(out.workers, worker)
		for _, name := range []string{service, worker} {
			var d k8sobject.Deployment
			res, ok := r.monitor.Get("kubernetes:apps/v1:Deployment", name)
			if !ok {
				t.Fatalf("no Deployment %s", name)
			}
			if err := res.Decode(&d); err != nil {
				t.Fatal(err)
			}
			out.containers[name] = d.Spec.Template.Spec.Containers[0]
			out.replicas[name] = d.Spec.Replicas
		}
	}
	var cm k8sobject.ConfigMap
	res, _ := r.monitor.Get("kubernetes:core/v1:ConfigMap", "loadtest-locustfiles")
	if err := res.Decode(&cm); err != nil {
		t.Fatal(err)
	}
	out.files = cm.Data
	return out
}
