package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// threeShards are the outputs of a stack of 2500 workers over 3 shards.
var threeShards = stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2500, Shards: 3,
	ShardMasterServices: []string{"loadtest-master", "loadtest-1-master", "loadtest-2-master"}, ShardWorkers: []int{834, 833, 833}}

// shardedStack is a stack of the given shard workers, read from its
// outputs, with its share of the users.
func shardedStack(name string, share float64, workers ...int) stackRead {
	out := stackoutputs.Outputs{MasterService: "loadtest-master", Shards: len(workers), ShardWorkers: workers}
	for i, w := range workers {
		out.Workers += w
		service := "loadtest-master"
		if i > 0 {
			service = fmt.Sprintf("loadtest-%d-master", i)
		}
		out.ShardMasterServices = append(out.ShardMasterServices, service)
	}
	return stackRead{stackShare: stackShare{name: name, share: share}, out: out, hasOutputs: true}
}

// TestTestMembers: a stack of one master (or one deployed before shards)
// is one member, reached through its master Service or its --master-url;
// a stack of several shards is a member per shard, named NAME/shard-I,
// each reached through its own master Service, expecting its own workers,
// with the stack's share split in proportion to them; one --master-url for
// a stack of several shards is refused, naming every shard.
func TestTestMembers(t *testing.T) {
	outputs := func(name string, share float64, masterURL string, out stackoutputs.Outputs) stackRead {
		return stackRead{stackShare: stackShare{name: name, share: share}, masterURL: masterURL, out: out, hasOutputs: true}
	}
	beforeShards := stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2}
	oneShard := stackoutputs.Outputs{MasterService: "loadtest-master", Workers: 2, Shards: 1, ShardMasterServices: []string{"loadtest-master"}, ShardWorkers: []int{2}}
	for _, tc := range []struct {
		name   string
		stacks []stackRead
		want   []member
		err    string // the error, "" for none
	}{
		{"a stack deployed before shards", []stackRead{outputs("dev", 0, "", beforeShards)},
			[]member{{name: "dev", service: "loadtest-master", workers: 2, share: 1}}, ""},
		{"a stack of one shard", []stackRead{outputs("dev", 0, "", oneShard)},
			[]member{{name: "dev", service: "loadtest-master", workers: 2, share: 1}}, ""},
		{"a stack of one shard at its --master-url", []stackRead{outputs("dev", 0, "http://127.0.0.1:1", oneShard)},
			[]member{{name: "dev", workers: 2, share: 1}}, ""},
		{"stacks without outputs", []stackRead{{stackShare: stackShare{name: "east", share: 60}, masterURL: "http://127.0.0.1:1"}, {stackShare: stackShare{name: "west", share: 40}, masterURL: "http://127.0.0.1:2"}},
			[]member{{name: "east", share: 60}, {name: "west", stack: 1, share: 40}}, ""},
		{"a stack of three shards", []stackRead{outputs("dev", 0, "", threeShards)},
			[]member{
				{name: "dev/shard-0", service: "loadtest-master", workers: 834, share: 834.0 / 2500},
				{name: "dev/shard-1", service: "loadtest-1-master", workers: 833, share: 833.0 / 2500},
				{name: "dev/shard-2", service: "loadtest-2-master", workers: 833, share: 833.0 / 2500},
			}, ""},
		{"a stack of shards beside one of one master, 60/40", []stackRead{shardedStack("use1", 60, 2, 1), outputs("euw1", 40, "", oneShard)},
			[]member{
				{name: "use1/shard-0", service: "loadtest-master", workers: 2, share: 40},
				{name: "use1/shard-1", service: "loadtest-1-master", workers: 1, share: 20},
				{name: "euw1", stack: 1, service: "loadtest-master", workers: 2, share: 40},
			}, ""},
		{"a stack of shards at one --master-url", []stackRead{outputs("dev", 0, "http://127.0.0.1:1", threeShards)}, nil,
			"stack dev has 3 shards, service/loadtest-master (834 workers), service/loadtest-1-master (833 workers), service/loadtest-2-master (833 workers): one --master-url reaches one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := testMembers(tc.stacks)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("testMembers: %v, %v; want the error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.EqualFunc(got, tc.want, func(a, b member) bool {
				return a.name == b.name && a.stack == b.stack && a.service == b.service && a.workers == b.workers && math.Abs(a.share-b.share) < 1e-9
			}) {
				t.Errorf("testMembers:\n got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// TestShardUsers: the users of a stack of shards are split among its
// masters as among stacks (splitUsers: 1 each, then the largest remainder
// method), in proportion to each shard's workers; they add up to --users,
// and the spawn rates to --spawn-rate.
func TestShardUsers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stacks []stackRead
		users  int
		want   []int
		err    string
	}{
		{"2500 workers over 3 shards, 100 users: 1 each, then 32.36, 32.32, 32.32 of 97", []stackRead{{stackShare: stackShare{name: "dev"}, out: threeShards, hasOutputs: true}},
			100, []int{34, 33, 33}, ""},
		{"one worker per shard, 7 users: 1 each, then 1.33 each of 4, the user left over to shard 0", []stackRead{shardedStack("local", 0, 1, 1, 1)},
			7, []int{3, 2, 2}, ""},
		{"a shard of 1000 workers and one of 1", []stackRead{shardedStack("dev", 0, 1000, 1)},
			10, []int{9, 1}, ""},
		{"shards at 60 beside a stack at 40: 1 each, then 2.8, 1.4, 2.8 of 7", []stackRead{shardedStack("use1", 60, 2, 1), shardedStack("euw1", 40, 2)},
			10, []int{4, 2, 4}, ""},
		{"fewer users than shards", []stackRead{shardedStack("local", 0, 1, 1, 1)}, 2, nil, "--users 2 for 3 masters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members, err := testMembers(tc.stacks)
			if err != nil {
				t.Fatal(err)
			}
			var masters []*stackMaster
			for _, m := range members {
				masters = append(masters, &stackMaster{name: m.name, share: m.share})
			}
			o := options{users: tc.users, spawnRate: 5}
			err = shareLoad(masters, o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("shareLoad: %v; want the error %q", err, tc.err)
				}
				return
			}
			var got []int
			var users int
			var rate float64
			for _, m := range masters {
				got, users, rate = append(got, m.users), users+m.users, rate+m.spawnRate
			}
			if err != nil || !slices.Equal(got, tc.want) || users != tc.users || math.Abs(rate-o.spawnRate) > 1e-9 {
				t.Errorf("users %v (%d), spawn rates adding up to %g, %v; want %v (%d) and %g", got, users, rate, err, tc.want, tc.users, o.spawnRate)
			}
		})
	}
}
