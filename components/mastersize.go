package components

import "fmt"

// The master's measured need, from bench/master-capacity.sh (docs/performance.md, "How
// many workers one master holds"). Light reports (20 requests/s per worker
// over 100 endpoints) cost the 2.24.0 master 16% of a core at 200 workers:
// the base of 110m. Production-shaped reports (1000 requests/s per worker,
// long-tailed times, the web UI polled) cost the 2.46.7 master up to 42% at
// 1000 workers: 0.32m per worker on that base. Memory: 61 MiB plus 52 KiB
// per worker (light reports); the heavy rows peaked at 169 MiB, under the
// 512Mi floor. A 2.46 error storm (half the requests failing, a task
// exception per worker per second, each worker shipping its log) is outside
// this line: the docs say so.
const (
	masterCPUBaseMilli       = 110
	masterCPUPerWorkerMicro  = 320 // 0.32m per worker
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
