package stackconfig

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/components"
)

// TestShardsPlanned: with shards unset, one master per 1000 workers,
// rounded up, and a warning naming the figures whenever that is more than
// one; a given shards is kept. The workers are split as evenly as possible,
// shard 0 first, and each shard's master is sized for its own workers
// where its request is left empty.
func TestShardsPlanned(t *testing.T) {
	for _, tc := range []struct {
		workers, shards, cpu string
		wantShards           int
		wantSplit            []int
		// warned: phrases the one shard warning holds, nil for no warning.
		warned []string
	}{
		{workers: "2", wantShards: 1, wantSplit: []int{2}},
		{workers: "1000", wantShards: 1, wantSplit: []int{1000}},
		{workers: "1001", wantShards: 2, wantSplit: []int{501, 500},
			warned: []string{"shards is unset: planned 2 shards (masters) for workers 1001, one per 1000 workers", "docs/performance.md, How many workers one master holds", "their workers: 501, 500"}},
		{workers: "2500", wantShards: 3, wantSplit: []int{834, 833, 833},
			warned: []string{"planned 3 shards (masters) for workers 2500", "their workers: 834, 833, 833"}},
		{workers: "10000", wantShards: 10, wantSplit: slices.Repeat([]int{1000}, 10), warned: []string{"planned 10 shards"}},
		{workers: "5", shards: "2", wantShards: 2, wantSplit: []int{3, 2}},
		{workers: "2000", shards: "2", cpu: "900m", wantShards: 2, wantSplit: []int{1000, 1000}},
		{workers: "7", shards: "1", wantShards: 1, wantSplit: []int{7}},
	} {
		t.Run(fmt.Sprintf("workers %s, shards %q", tc.workers, tc.shards), func(t *testing.T) {
			values := stackValues(t, "dev")
			values["workers"], values["shards"], values["masterCpuRequest"] = tc.workers, tc.shards, tc.cpu
			if tc.shards == "" {
				values["shards"] = "0" // Pulumi.yaml's default
			}
			cfg, err := Parse(lookupIn(values), nil, available)
			if err != nil {
				t.Fatal(err)
			}
			l := cfg.Locust
			if l.Shards != tc.wantShards || !slices.Equal(l.ShardWorkers, tc.wantSplit) {
				t.Errorf("shards %d of %v, want %d of %v", l.Shards, l.ShardWorkers, tc.wantShards, tc.wantSplit)
			}
			sum := 0
			for _, n := range l.ShardWorkers {
				sum += n
			}
			if sum != atoi(tc.workers) || slices.Max(l.ShardWorkers)-slices.Min(l.ShardWorkers) > 1 || l.ShardWorkers[0] != slices.Max(l.ShardWorkers) {
				t.Errorf("split %v: want a sum of %s, shard 0 the largest, no two differing by more than one", l.ShardWorkers, tc.workers)
			}
			var warning []string
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "shards") {
					warning = append(warning, w)
				}
			}
			switch {
			case tc.warned == nil && len(warning) > 0:
				t.Errorf("warned %q, want no shard warning", warning)
			case tc.warned != nil && len(warning) != 1:
				t.Errorf("shard warnings %q, want one", warning)
			case tc.warned != nil:
				for _, phrase := range tc.warned {
					if !strings.Contains(warning[0], phrase) {
						t.Errorf("warning %q lacks %q", warning[0], phrase)
					}
				}
			}
			if len(l.ShardMasters) != l.Shards || l.Master != l.ShardMasters[0] {
				t.Fatalf("master %+v, shard masters %+v: want one per shard, shard 0's the master", l.Master, l.ShardMasters)
			}
			for i, m := range l.ShardMasters {
				sized := components.MasterResourcesFor(tc.wantSplit[i])
				want := components.Resources{CPURequest: sized.CPURequest, MemoryRequest: sized.MemoryRequest, MemoryLimit: "1Gi"}
				if tc.cpu != "" {
					want.CPURequest = tc.cpu
				}
				if m != want {
					t.Errorf("shard %d master %+v, want %+v", i, m, want)
				}
			}
		})
	}
}
