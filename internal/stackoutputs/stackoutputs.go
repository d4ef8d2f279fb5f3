// Package stackoutputs reads what a deployed stack of this project exports
// that a load test needs: where the master is, how many workers to expect,
// and the stack's load-test parameters and thresholds.
package stackoutputs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// LoadTest is the stack output loadTest (main.go's loadTestOutput).
type LoadTest struct {
	Users            int     `json:"users"`
	SpawnRate        float64 `json:"spawnRate"`
	RunTime          string  `json:"runTime"`
	MaxFailRatio     float64 `json:"maxFailRatio"`
	MaxP95Ms         float64 `json:"maxP95Ms"`
	MaxP99Ms         float64 `json:"maxP99Ms"`
	MinRPS           float64 `json:"minRps"`
	MaxRegressionPct float64 `json:"maxRegressionPct"`
}

// Outputs are the outputs a load test uses.
type Outputs struct {
	Namespace string `json:"namespace"`
	// MasterService is shard 0's master Service; Workers counts every
	// shard's workers.
	MasterService string `json:"masterService"`
	Workers       int    `json:"workers"`
	// Shards is the number of masters; ShardMasterServices their Services
	// and ShardWorkers their worker counts, shard 0 first. A stack deployed
	// before shards exports none of them (Masters reads it as one shard).
	Shards              int      `json:"shards"`
	ShardMasterServices []string `json:"shardMasterServices"`
	ShardWorkers        []int    `json:"shardWorkers"`
	ResultsBucket       string   `json:"resultsBucket"`
	// Image is the Locust image the pods run.
	Image string `json:"image"`
	// Kubeconfig is the EKS cluster's kubeconfig (a secret output, read
	// with --show-secrets); KubeContext the context of existing-cluster mode.
	Kubeconfig  string    `json:"kubeconfig"`
	KubeContext string    `json:"kubeContext"`
	LoadTest    *LoadTest `json:"loadTest"`
	// WebUsername is set when the web UI is behind the stack's login;
	// WebPassword is its password (a secret output, read with
	// --show-secrets).
	WebUsername string `json:"webUsername"`
	WebPassword string `json:"webPassword"`
	// WebPath is the path the UI is served under on the master's port
	// ("" for /); WebTLSCertificate, when set, is the certificate the
	// master serves HTTPS with.
	WebPath           string `json:"webPath"`
	WebTLSCertificate string `json:"webTlsCertificate"`
}

// Master is one shard's master Service and the workers that connect to it.
type Master struct {
	Service string
	Workers int
}

// Masters are every shard's master, shard 0 first: one, MasterService with
// all the workers, for a stack deployed before shards.
func (o Outputs) Masters() []Master {
	if len(o.ShardMasterServices) == 0 {
		return []Master{{Service: o.MasterService, Workers: o.Workers}}
	}
	masters := make([]Master, len(o.ShardMasterServices))
	for i, service := range o.ShardMasterServices {
		masters[i] = Master{Service: service, Workers: o.ShardWorkers[i]}
	}
	return masters
}

// Parse decodes `pulumi stack output --json`.
func Parse(b []byte) (Outputs, error) {
	var o Outputs
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("reading the stack's outputs: %w", err)
	}
	if o.LoadTest == nil || o.Workers == 0 {
		return o, fmt.Errorf("the stack's outputs have no loadTest or workers: deploy the stack with this version of the program (pulumi up)")
	}
	if n := len(o.ShardMasterServices); n != len(o.ShardWorkers) || (n > 0 && n != o.Shards) {
		return o, fmt.Errorf("the stack's outputs name %d shards, %d shard master Services and %d shard worker counts: deploy the stack again (pulumi up)",
			o.Shards, n, len(o.ShardWorkers))
	}
	return o, nil
}

// Read runs `pulumi stack output --json --show-secrets --stack stack` in
// dir, the project's directory, with the given environment (nil: this
// process's). The secrets (the kubeconfig) stay in memory.
func Read(ctx context.Context, pulumi, dir, stack string, env []string) (Outputs, error) {
	cmd := exec.CommandContext(ctx, pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Outputs{}, fmt.Errorf("pulumi stack output --stack %s: %v: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	return Parse(out)
}
