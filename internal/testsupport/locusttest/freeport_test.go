package locusttest

import (
	"fmt"
	"net"
	"os"
	"testing"
)

// TestFreePortStaysOutOfTheEphemeralRange: every port is bindable, handed
// out once, and outside the range the kernel gives to outgoing connections
// and to listens on port 0, so that neither can take it before Locust binds
// it.
func TestFreePortStaysOutOfTheEphemeralRange(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatalf("reading the kernel's ephemeral range: %v", err)
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err != nil {
		t.Fatalf("reading the ephemeral range %q: %v", b, err)
	}
	seen := map[int]bool{}
	for range 200 {
		port := FreePort(t)
		if port >= first && port <= last {
			t.Fatalf("FreePort gave %d, inside the ephemeral range %d-%d", port, first, last)
		}
		if seen[port] {
			t.Fatalf("FreePort gave %d twice", port)
		}
		seen[port] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("FreePort gave %d, which cannot be bound: %v", port, err)
		}
		l.Close()
	}
}
