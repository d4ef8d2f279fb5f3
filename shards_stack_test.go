package main

import (
	"fmt"
	"testing"
)

// TestShardsStack: a stack of several shards deploys one master Service
// and Deployment and one worker Deployment per shard from one
// LocustCluster, and exports every shard's master Service and worker
// count beside shard 0's outputs; a stack without shards exports one
// shard.
func TestShardsStack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stack    string
		set      map[string]string
		services []string
		split    []int
		workers  int
	}{
		{"dev as it is", "dev", nil, []string{"loadtest-master"}, []int{2}, 2},
		{"planned from 2500 workers", "local", map[string]string{"workers": "2500"},
			[]string{"loadtest-master", "loadtest-1-master", "loadtest-2-master"}, []int{834, 833, 833}, 2500},
		{"two shards set", "local", map[string]string{"workers": "5", "shards": "2"},
			[]string{"loadtest-master", "loadtest-1-master"}, []int{3, 2}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustRun(t, tc.stack, tc.set)
			shards := len(tc.services)
			if s.count("locust-eks:index:LocustCluster") != 1 || s.count("kubernetes:core/v1:Service") != shards ||
				s.count("kubernetes:apps/v1:Deployment") != 2*shards || s.count("kubernetes:core/v1:ConfigMap") != 1 {
				t.Errorf("%d LocustCluster, %d Services, %d Deployments, %d ConfigMaps; want 1, %d, %d, 1", s.count("locust-eks:index:LocustCluster"),
					s.count("kubernetes:core/v1:Service"), s.count("kubernetes:apps/v1:Deployment"), s.count("kubernetes:core/v1:ConfigMap"), shards, 2*shards)
			}
			for key, want := range map[string]string{
				"shards": fmt.Sprint(shards), "shardMasterServices": fmt.Sprint(tc.services), "shardWorkers": fmt.Sprint(tc.split),
				"workers": fmt.Sprint(tc.workers), "masterService": "loadtest-master",
				"portForwardCommand": "kubectl port-forward --namespace locust service/loadtest-master 8089:8089",
			} {
				if got := fmt.Sprint(s.outputs[key]); got != want {
					t.Errorf("output %s = %s, want %s", key, got, want)
				}
			}
		})
	}
}
