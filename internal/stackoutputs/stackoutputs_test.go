package stackoutputs

import (
	"slices"
	"strings"
	"testing"
)

// TestMasters: a stack of shards lists every master with its workers,
// shard 0 first; a stack deployed before shards reads as one master with
// every worker; outputs whose shard lists disagree are refused.
func TestMasters(t *testing.T) {
	const loadTest = `"loadTest": {"users": 10, "spawnRate": 1, "runTime": "1m0s"}`
	for _, tc := range []struct {
		name, json string
		want       []Master
		refused    string
	}{
		{"before shards", `{"namespace": "locust", "masterService": "loadtest-master", "workers": 2, ` + loadTest + `}`,
			[]Master{{"loadtest-master", 2}}, ""},
		{"one shard", `{"masterService": "loadtest-master", "workers": 2, "shards": 1, "shardMasterServices": ["loadtest-master"], "shardWorkers": [2], ` + loadTest + `}`,
			[]Master{{"loadtest-master", 2}}, ""},
		{"three shards", `{"masterService": "loadtest-master", "workers": 2500, "shards": 3,
			"shardMasterServices": ["loadtest-master", "loadtest-1-master", "loadtest-2-master"], "shardWorkers": [834, 833, 833], ` + loadTest + `}`,
			[]Master{{"loadtest-master", 834}, {"loadtest-1-master", 833}, {"loadtest-2-master", 833}}, ""},
		{"lists that disagree", `{"masterService": "loadtest-master", "workers": 5, "shards": 2,
			"shardMasterServices": ["loadtest-master", "loadtest-1-master"], "shardWorkers": [5], ` + loadTest + `}`,
			nil, "2 shards, 2 shard master Services and 1 shard worker counts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse([]byte(tc.json))
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v, want one saying %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Masters(); !slices.Equal(got, tc.want) {
				t.Errorf("masters %v, want %v", got, tc.want)
			}
		})
	}
}
