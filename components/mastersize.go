package components

import "fmt"

// The master's measured need, from bench/master-capacity.sh (docs/performance.md, "How
// many workers one master holds"): real 2.12.1 and 2.24.0 masters against
// simulated workers each reporting 20 requests/s over 100 endpoints, the
// heavier of the two report sizes measured. The 2.24.0 master, the dearer,
// used 16% of a core and 71 MiB at 200 workers, 36% and 112 MiB at 1000: a
// line of 110m plus 0.25m per worker, and 61 MiB plus 52 KiB per worker.
const (
	masterCPUBaseMilli       = 110
	masterCPUPerWorkerMicro  = 250 // 0.25m per worker
	masterMemoryBaseMiB      = 61
	masterMemoryPerWorkerKiB = 52
	masterSizingMargin       = 2
	masterCPUFloorMilli      = 250
	masterCPUCeilingMilli    = 1000
	masterMemoryFloorMiB     = 512
	masterMemoryLimitMiB     = 1024
)

// MasterResourcesFor is what the master requests when the stack does not
// say: the measured need for workers workers, doubled. The CPU request is
// at least 250m (the web UI, the end-of-run report) and at most one core:
// the master is one Python process, which cannot use more. The memory
// request is at least 512Mi, for what grows with a run's length rather than
// with workers (Locust keeps each endpoint's per-second counts for the whole
// run); the limit is 1Gi, or the request where that is more.
func MasterResourcesFor(workers int) Resources {
	cpu := masterSizingMargin * (masterCPUBaseMilli + (workers*masterCPUPerWorkerMicro+999)/1000)
	cpu = min(max(cpu, masterCPUFloorMilli), masterCPUCeilingMilli)
	cpu = (cpu + 49) / 50 * 50
	mem := masterSizingMargin * (masterMemoryBaseMiB + (workers*masterMemoryPerWorkerKiB+1023)/1024)
	mem = max(mem, masterMemoryFloorMiB)
	mem = (mem + 63) / 64 * 64
	return Resources{
		CPURequest:    fmt.Sprintf("%dm", cpu),
		MemoryRequest: quantityMiB(mem),
		MemoryLimit:   quantityMiB(max(mem, masterMemoryLimitMiB)),
	}
}

// quantityMiB writes MiB as Kubernetes would print it: whole Gi where it
// can, so the default limit reads 1Gi.
func quantityMiB(mib int) string {
	if mib%1024 == 0 {
		return fmt.Sprintf("%dGi", mib/1024)
	}
	return fmt.Sprintf("%dMi", mib)
}
