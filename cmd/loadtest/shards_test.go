package main

import (
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// TestOneMasterPerStack: a stack of one master (or one deployed before
// shards) is driven as always; a stack of several shards is refused,
// naming every shard's master Service and its workers, since one
// port-forward reaches one master.
func TestOneMasterPerStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  stackoutputs.Outputs
		want string // "" when accepted
	}{
		{"before shards", stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2}, ""},
		{"one shard", stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2, Shards: 1,
			ShardMasterServices: []string{"loadtest-master"}, ShardWorkers: []int{2}}, ""},
		{"three shards", stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2500, Shards: 3,
			ShardMasterServices: []string{"loadtest-master", "loadtest-1-master", "loadtest-2-master"}, ShardWorkers: []int{834, 833, 833}},
			"the stack has 3 shards, service/loadtest-master (834 workers), service/loadtest-1-master (833 workers), service/loadtest-2-master (833 workers)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oneMaster(tc.out)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("oneMaster: %v; want %q", err, tc.want)
			}
		})
	}
}
