package ekscluster

import (
	"slices"
	"strings"
	"testing"
)

// EC2's DescribeInstanceTypes figures (vCPUs, memory, ENIs, IPv4 per ENI),
// as aws/amazon-vpc-cni-k8s pkg/vpc/vpc_ip_resource_limit.go and the EC2
// instance type pages give them.
var (
	c6iLarge  = InstanceCapacity{Type: "c6i.large", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 10}
	c6aLarge  = InstanceCapacity{Type: "c6a.large", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 10}
	c5Large   = InstanceCapacity{Type: "c5.large", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 10}
	c6iXLarge = InstanceCapacity{Type: "c6i.xlarge", VCPUs: 4, MemoryMiB: 8192, ENIs: 4, IPv4PerENI: 15}
	m6iLarge  = InstanceCapacity{Type: "m6i.large", VCPUs: 2, MemoryMiB: 8192, ENIs: 3, IPv4PerENI: 10}
	t3Medium  = InstanceCapacity{Type: "t3.medium", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 6}
	// 234 pods in eni-max-pods.txt, capped at 110 by a managed node group.
	c6i4XLarge = InstanceCapacity{Type: "c6i.4xlarge", VCPUs: 16, MemoryMiB: 32768, ENIs: 8, IPv4PerENI: 30}
)

// TestAllocatable checks the formula against numbers computed upstream:
// max pods from amazon-eks-ami's eni-max-pods.txt, and allocatable CPU and
// memory from Karpenter's AL2023 instance-type reference, which applies the
// same nodeadm reservations.
func TestAllocatable(t *testing.T) {
	for _, tc := range []struct {
		c             InstanceCapacity
		pods          int
		cpuMilli, mem int64
	}{
		{c6iLarge, 29, 1930, 3114},
		{t3Medium, 17, 1930, 3246},
		{m6iLarge, 29, 1930, 6903},
		{c6iXLarge, 58, 3920, 6584},
		// Memory reserved for 234 pods (11 x 234 + 255 MiB), as Karpenter
		// reports it, though the kubelet runs at most 110.
		{c6i4XLarge, 110, 15890, 27381},
	} {
		cpu, mem := tc.c.Allocatable()
		if tc.c.MaxPods() != tc.pods || cpu != tc.cpuMilli || mem != tc.mem {
			t.Errorf("%s: %d pods, %dm CPU, %dMi; want %d, %dm, %dMi", tc.c.Type, tc.c.MaxPods(), cpu, mem, tc.pods, tc.cpuMilli, tc.mem)
		}
	}
}

func TestPlanWorkers(t *testing.T) {
	oneCore := Request{CPU: "1", Memory: "1Gi"}
	for _, tc := range []struct {
		name                  string
		workers               int
		req                   Request
		types                 []InstanceCapacity
		minSize, desired, max int
		nodes, perNode        int
		err                   string
	}{
		// 1930m - 150m of DaemonSets leaves room for one 1-core worker.
		{"dev: 2 workers on large spot types", 2, oneCore, []InstanceCapacity{c6iLarge, c6aLarge, c5Large}, 1, 0, 3, 2, 1, ""},
		{"dev: 20 workers do not fit in 3 nodes", 20, oneCore, []InstanceCapacity{c6iLarge, c6aLarge, c5Large}, 1, 0, 3, 0, 1, "need 20 c6i.large nodes"},
		{"dev: 20 small workers fit", 20, Request{CPU: "250m", Memory: "256Mi"}, []InstanceCapacity{c6iLarge}, 1, 0, 3, 3, 7, ""},
		{"prod: 10 workers, 3 per xlarge", 10, oneCore, []InstanceCapacity{c6iXLarge}, 3, 0, 8, 4, 3, ""},
		{"min size wins over a smaller need", 1, oneCore, []InstanceCapacity{c6iXLarge}, 3, 0, 8, 3, 3, ""},
		{"explicit desired size wins", 2, oneCore, []InstanceCapacity{c6iLarge}, 1, 3, 3, 3, 1, ""},
		{"explicit desired size too small", 3, oneCore, []InstanceCapacity{c6iLarge}, 1, 2, 4, 0, 1, "nodeDesiredSize: 2 c6i.large nodes hold 2 workers"},
		{"memory bound", 10, Request{CPU: "100m", Memory: "1500Mi"}, []InstanceCapacity{c6iLarge}, 1, 0, 10, 5, 2, ""},
		{"pods bound", 60, Request{CPU: "10m", Memory: "10Mi"}, []InstanceCapacity{t3Medium}, 1, 0, 10, 4, 15, ""},
		{"a worker larger than a node", 1, Request{CPU: "2", Memory: "1Gi"}, []InstanceCapacity{c6iLarge}, 1, 0, 3, 0, 0, "does not fit on a c6i.large node"},
		{"the smallest type decides", 4, oneCore, []InstanceCapacity{c6iXLarge, c6iLarge}, 1, 0, 10, 4, 1, ""},
		// 27 pods fit on a c6i.large alone, but the group's max pods is
		// t3.medium's 17 on every node: 15 workers beside the DaemonSets.
		{"the group's smallest max pods applies to every type", 40, Request{CPU: "10m", Memory: "10Mi"}, []InstanceCapacity{c6iLarge, t3Medium}, 1, 0, 10, 3, 15, ""},
		// 27381 MiB for pods, not the 28745 a reservation for 110 pods leaves.
		{"a large type keeps memory for its uncapped max pods", 18, Request{CPU: "100m", Memory: "3Gi"}, []InstanceCapacity{c6i4XLarge}, 1, 0, 10, 3, 8, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanWorkers(Demand{Workers: tc.workers, Worker: tc.req}, tc.types, tc.minSize, tc.desired, tc.max)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Nodes != tc.nodes || p.PodsPerNode != tc.perNode {
				t.Errorf("plan %+v: %d nodes of %d workers; want %d of %d", p, p.Nodes, p.PodsPerNode, tc.nodes, tc.perNode)
			}
		})
	}
}

func TestPlanSystem(t *testing.T) {
	p, err := PlanSystem(Demand{Masters: []Request{{CPU: "1", Memory: "1Gi"}}}, []InstanceCapacity{m6iLarge})
	if err != nil || p.Nodes != 1 {
		t.Errorf("master of 1 core on m6i.large: %+v, %v; want 1 node", p, err)
	}
	if _, err := PlanSystem(Demand{Masters: []Request{{CPU: "4", Memory: "1Gi"}}}, []InstanceCapacity{m6iLarge}); err == nil || !strings.Contains(err.Error(), "systemNodeInstanceTypes") {
		t.Errorf("master of 4 cores on m6i.large: %v; want an error naming systemNodeInstanceTypes", err)
	}
}

// TestPlanSystemShards: the system nodes hold every shard's master and
// CoreDNS, no pod split over nodes. An m6i.large offers 1780m and 6903Mi
// to pods (TestAllocatable's 1930m less the DaemonSets' 150m), so it holds
// one master of a whole core and never two, whatever the sum of the
// requests says.
func TestPlanSystemShards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		masters []Request
		types   []InstanceCapacity
		nodes   int
		pods    int
		refused string
	}{
		{"one sized master", []Request{{CPU: "750m", Memory: "512Mi"}}, []InstanceCapacity{m6iLarge}, 1, 3, ""},
		// 750m + 750m + 2 x 100m = 1700m: one node.
		{"two sized masters", []Request{{CPU: "750m", Memory: "512Mi"}, {CPU: "750m", Memory: "512Mi"}}, []InstanceCapacity{m6iLarge}, 1, 4, ""},
		// 3 x 750m + 200m = 2450m: two nodes (1500m + 200m, 750m).
		{"three sized masters", slices.Repeat([]Request{{CPU: "750m", Memory: "512Mi"}}, 3), []InstanceCapacity{m6iLarge}, 2, 5, ""},
		// 4 x 1000m + 200m = 4200m would be 3 nodes by the sum; each node
		// holds one master: 4.
		{"four masters of a core", slices.Repeat([]Request{{CPU: "1", Memory: "1Gi"}}, 4), []InstanceCapacity{m6iLarge}, 4, 6, ""},
		// Memory decides: 6903Mi holds one master of 4Gi, not two.
		{"masters heavy in memory", slices.Repeat([]Request{{CPU: "250m", Memory: "4Gi"}}, 3), []InstanceCapacity{m6iLarge}, 3, 5, ""},
		{"a shard's master too large", []Request{{CPU: "750m", Memory: "512Mi"}, {CPU: "3", Memory: "512Mi"}}, []InstanceCapacity{m6iLarge}, 0, 0,
			"shard 1's master (masterCpuRequest 3, masterMemoryRequest 512Mi) does not fit on a m6i.large node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanSystem(Demand{Masters: tc.masters}, tc.types)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Errorf("error %v, want one saying %q", err, tc.refused)
				}
				return
			}
			if err != nil || p.Nodes != tc.nodes || p.PodsPerNode != tc.pods {
				t.Errorf("%+v, %v; want %d nodes for %d pods", p, err, tc.nodes, tc.pods)
			}
		})
	}
}
