package ekscluster

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"
)

// How many nodes the Locust pods need, worked out at preview from what EC2
// says of the instance types and what an EKS AL2023 node keeps for itself.
// Sources, all upstream:
//   - max pods: nodeadm's getMaxPodsFromENIInfo
//     (awslabs/amazon-eks-ami nodeadm/internal/kubelet/maxpods),
//     ENIs of the default network card x (IPv4 addresses per ENI - 1) + 2,
//     which managed node groups cap at 110 below 30 vCPUs and 250 above,
//     the smallest of the group's types for all its nodes (EKS user guide,
//     choosing-instance-type); kube-reserved memory is still reserved for
//     the uncapped figure;
//   - kube-reserved: nodeadm's withDefaultReservedResources
//     (nodeadm/internal/kubelet/config.go): CPU 6% of the first core, 1% of
//     the second, 0.5% of the third and fourth, 0.25% of the rest; memory
//     11 MiB per pod plus 255 MiB; eviction at 100 MiB available;
//   - memory capacity: the kernel's MemTotal is below the instance's size;
//     as Karpenter does (karpenter-provider-aws VM_MEMORY_OVERHEAD_PERCENT),
//     7.5% is taken off;
//   - on every node, the DaemonSets EKS installs: aws-node with its node
//     agent, 25m CPU each (aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml),
//     and kube-proxy, 100m CPU; CoreDNS, two replicas of 100m CPU and 70 MiB,
//     runs on the system node group.

// InstanceCapacity is what EC2's DescribeInstanceTypes reports of a type.
type InstanceCapacity struct {
	Type      string
	VCPUs     int
	MemoryMiB int
	// ENIs are the network interfaces of the default network card, the
	// figure nodeadm and the VPC CNI count (GetENIMaxPodsFromEC2 in
	// nodeadm/internal/kubelet/maxpods, eni-max-pods.txt: c6in.32xlarge has
	// 16 interfaces on two cards and 394 pods, 8 x 49 + 2).
	ENIs       int
	IPv4PerENI int
}

// ENIMaxPods is nodeadm's max pods figure for the type before any cap:
// what it reserves kube-reserved memory for (withDefaultReservedResources
// in nodeadm/internal/kubelet/config.go computes 11 MiB per pod from it;
// the managed node group's cap is applied to the kubelet's maxPods alone).
func (c InstanceCapacity) ENIMaxPods() int {
	return c.ENIs*(c.IPv4PerENI-1) + 2
}

// MaxPods is the kubelet's maxPods on a managed node group node of this
// type alone: EKS caps it at 110 below 30 vCPUs and 250 above.
func (c InstanceCapacity) MaxPods() int {
	ceiling := 110
	if c.VCPUs > 30 {
		ceiling = 250
	}
	return min(c.ENIMaxPods(), ceiling)
}

// Allocatable is what the node offers pods, before DaemonSets.
func (c InstanceCapacity) Allocatable() (cpuMilli, memoryMiB int64) {
	total := int64(c.VCPUs) * 1000
	bounds := []int64{0, 1000, 2000, 4000, total}
	per10000 := []int64{600, 100, 50, 25}
	reserved := int64(0)
	for i, rate := range per10000 {
		if total > bounds[i] {
			reserved += (min(total, max(bounds[i+1], bounds[i])) - bounds[i]) * rate / 10000
		}
	}
	memory := int64(c.MemoryMiB)*925/1000 - (11*int64(c.ENIMaxPods()) + 255) - 100
	return total - reserved, memory
}

// Per-node and cluster-wide pods EKS runs beside the workload.
const (
	daemonSetCPUMilli = 50 + 100 // aws-node (two containers) and kube-proxy
	daemonSetPods     = 2
	coreDNSReplicas   = 2
	coreDNSCPUMilli   = 100
	coreDNSMemoryMiB  = 70
)

// Request is one pod's CPU and memory request, as Kubernetes quantities.
type Request struct{ CPU, Memory string }

func (r Request) values() (cpuMilli, memoryMiB int64, err error) {
	cpu, err := resource.ParseQuantity(r.CPU)
	if err != nil {
		return 0, 0, fmt.Errorf("CPU request %q: %w", r.CPU, err)
	}
	mem, err := resource.ParseQuantity(r.Memory)
	if err != nil {
		return 0, 0, fmt.Errorf("memory request %q: %w", r.Memory, err)
	}
	return cpu.MilliValue(), (mem.Value() + 1<<20 - 1) >> 20, nil
}

// Demand is what the Locust pods ask of the nodes.
type Demand struct {
	// Workers counts every shard's workers, which share the worker node
	// group; each asks Worker.
	Workers int
	Worker  Request
	// Masters are every shard's master's requests, shard 0 first; they
	// run on the system node group.
	Masters []Request
}

// Pool is the plan for one node group.
type Pool struct {
	InstanceType string
	// Nodes is the node group's desired size.
	Nodes int
	// PodsPerNode is how many workers one node holds; for the system pool,
	// how many pods of its own it runs over its nodes: the masters and
	// CoreDNS.
	PodsPerNode int
	// Allocatable per node, after kube-reserved, eviction and DaemonSets.
	CPUMilli  int64
	MemoryMiB int64
}

// NodePlan is the plan for both node groups; a stack output.
type NodePlan struct {
	Workers Pool
	System  Pool
}

// rooms is the room of a node of each type of a node group, which may get
// any of them (for spot capacity). A managed node group gives all its nodes
// the smallest max pods of its instance types (EKS user guide,
// choosing-instance-type).
func rooms(types []InstanceCapacity) []Pool {
	groupPods := 0
	for i, t := range types {
		if i == 0 || t.MaxPods() < groupPods {
			groupPods = t.MaxPods()
		}
	}
	out := make([]Pool, len(types))
	for i, t := range types {
		cpu, mem := t.Allocatable()
		out[i] = Pool{InstanceType: t.Type, CPUMilli: cpu - daemonSetCPUMilli, MemoryMiB: mem, PodsPerNode: groupPods - daemonSetPods}
	}
	return out
}

// PlanWorkers sizes the worker node group: desired is what the workers need,
// raised to minSize; an explicit desired (above 0) wins when it fits. It
// fails, with the numbers, when the workers cannot fit even at maxSize. The
// node type holding the fewest workers decides.
func PlanWorkers(d Demand, types []InstanceCapacity, minSize, desired, maxSize int) (Pool, error) {
	if len(types) == 0 {
		return Pool{}, fmt.Errorf("no instance types to plan the workers' nodes with")
	}
	cpu, mem, err := d.Worker.values()
	if err != nil {
		return Pool{}, err
	}
	var p Pool
	for i, room := range rooms(types) {
		perNode := room.PodsPerNode
		if cpu > 0 {
			perNode = min(perNode, int(room.CPUMilli/cpu))
		}
		if mem > 0 {
			perNode = min(perNode, int(room.MemoryMiB/mem))
		}
		room.PodsPerNode = perNode
		if i == 0 || perNode < p.PodsPerNode {
			p = room
		}
	}
	perNode := p.PodsPerNode
	if perNode < 1 {
		return p, fmt.Errorf("one worker (workerCpuRequest %s, workerMemoryRequest %s) does not fit on a %s node, which has %dm CPU and %dMi memory for pods: lower the requests or pick larger nodeInstanceTypes",
			d.Worker.CPU, d.Worker.Memory, p.InstanceType, p.CPUMilli, p.MemoryMiB)
	}
	needed := (d.Workers + perNode - 1) / perNode
	switch {
	case needed > maxSize:
		return p, fmt.Errorf("workers: %d workers of %dm CPU and %dMi need %d %s nodes (%d per node: %dm CPU, %dMi for pods each), more than nodeMaxSize %d: "+
			"raise nodeMaxSize, pick larger nodeInstanceTypes or lower workerCpuRequest/workerMemoryRequest (needed %dm CPU and %dMi, available at nodeMaxSize %dm and %dMi)",
			d.Workers, cpu, mem, needed, p.InstanceType, perNode, p.CPUMilli, p.MemoryMiB, maxSize,
			int64(d.Workers)*cpu, int64(d.Workers)*mem, int64(maxSize)*p.CPUMilli, int64(maxSize)*p.MemoryMiB)
	case desired > 0 && desired < needed:
		return p, fmt.Errorf("nodeDesiredSize: %d %s nodes hold %d workers (%d each), fewer than workers %d: raise nodeDesiredSize to %d, or set it to 0 to size the node group from the workers",
			desired, p.InstanceType, desired*perNode, perNode, d.Workers, needed)
	case desired > 0:
		p.Nodes = desired
	default:
		p.Nodes = max(needed, minSize)
	}
	return p, nil
}

// PlanSystem sizes the system node group for every shard's master and
// CoreDNS, on the type that needs the most nodes.
func PlanSystem(d Demand, types []InstanceCapacity) (Pool, error) {
	if len(types) == 0 {
		return Pool{}, fmt.Errorf("no instance types to plan the system nodes with")
	}
	if len(d.Masters) == 0 {
		return Pool{}, fmt.Errorf("no master to plan the system nodes for")
	}
	var pods []podRequest
	for i, m := range d.Masters {
		cpu, mem, err := m.values()
		if err != nil {
			return Pool{}, err
		}
		what := "the master"
		if len(d.Masters) > 1 {
			what = fmt.Sprintf("shard %d's master", i)
		}
		pods = append(pods, podRequest{what: what, request: m, cpuMilli: cpu, memoryMiB: mem})
	}
	for range coreDNSReplicas {
		pods = append(pods, podRequest{what: "CoreDNS", cpuMilli: coreDNSCPUMilli, memoryMiB: coreDNSMemoryMiB})
	}
	var p Pool
	for i, room := range rooms(types) {
		for _, pod := range pods {
			if pod.cpuMilli > room.CPUMilli || pod.memoryMiB > room.MemoryMiB {
				return room, fmt.Errorf("%s (masterCpuRequest %s, masterMemoryRequest %s) does not fit on a %s node, which has %dm CPU and %dMi for pods: pick larger systemNodeInstanceTypes",
					pod.what, pod.request.CPU, pod.request.Memory, room.InstanceType, room.CPUMilli, room.MemoryMiB)
			}
		}
		room.Nodes = packedNodes(pods, room)
		room.PodsPerNode = len(pods)
		if i == 0 || room.Nodes > p.Nodes || (room.Nodes == p.Nodes && room.CPUMilli < p.CPUMilli) {
			p = room
		}
	}
	return p, nil
}

// podRequest is one system pod's request, read.
type podRequest struct {
	what                string
	request             Request
	cpuMilli, memoryMiB int64
}

// packedNodes is how many nodes of room's size hold pods, placed
// first-fit in decreasing order of CPU (then memory): a pod is never split
// over nodes, so two masters that each fit on a node but not together take
// two, which a sum of the requests would not show. With one master and
// CoreDNS it is the sum's figure, rounded up: CoreDNS's pods fit beside
// each other on any node that holds a master.
func packedNodes(pods []podRequest, room Pool) int {
	sorted := slices.Clone(pods)
	slices.SortStableFunc(sorted, func(a, b podRequest) int {
		return cmp.Or(cmp.Compare(b.cpuMilli, a.cpuMilli), cmp.Compare(b.memoryMiB, a.memoryMiB))
	})
	type free struct{ cpu, mem int64 }
	var nodes []free
	for _, pod := range sorted {
		placed := false
		for i := range nodes {
			if nodes[i].cpu >= pod.cpuMilli && nodes[i].mem >= pod.memoryMiB {
				nodes[i].cpu -= pod.cpuMilli
				nodes[i].mem -= pod.memoryMiB
				placed = true
				break
			}
		}
		if !placed {
			nodes = append(nodes, free{room.CPUMilli - pod.cpuMilli, room.MemoryMiB - pod.memoryMiB})
		}
	}
	return max(1, len(nodes))
}

// instanceCapacities asks EC2 about each type; the lookup runs at preview.
func instanceCapacities(ctx *pulumi.Context, types []string, opts ...pulumi.InvokeOption) ([]InstanceCapacity, error) {
	var out []InstanceCapacity
	for _, t := range slices.Compact(slices.Clone(types)) {
		res, err := ec2.GetInstanceType(ctx, &ec2.GetInstanceTypeArgs{InstanceType: t}, opts...)
		if err != nil {
			return nil, fmt.Errorf("looking up instance type %s: %w", t, err)
		}
		// Where EC2 lists network cards, the default card's interfaces count;
		// MaximumNetworkInterfaces adds up every card's.
		enis := res.MaximumNetworkInterfaces
		for _, card := range res.NetworkCards {
			if card.Index == res.DefaultNetworkCardIndex {
				enis = card.MaximumInterfaces
			}
		}
		out = append(out, InstanceCapacity{
			Type: t, VCPUs: res.DefaultVcpus, MemoryMiB: res.MemorySize,
			ENIs: enis, IPv4PerENI: res.MaximumIpv4AddressesPerInterface,
		})
	}
	return out, nil
}

// Map is the plan as a stack output.
func (p NodePlan) Map() pulumi.Map {
	pool := func(p Pool) pulumi.Map {
		return pulumi.Map{
			"instanceType": pulumi.String(p.InstanceType),
			"nodes":        pulumi.Int(p.Nodes),
			"podsPerNode":  pulumi.Int(p.PodsPerNode),
			"cpuMilli":     pulumi.Int(int(p.CPUMilli)),
			"memoryMiB":    pulumi.Int(int(p.MemoryMiB)),
		}
	}
	return pulumi.Map{"workers": pool(p.Workers), "system": pool(p.System)}
}
