package ekscluster

import (
	"strings"
	"testing"
)

// TestCostString is the estimate as the preview prints it: the total per
// hour and per day, the items dearest first, what is not priced, and what
// had no price.
func TestCostString(t *testing.T) {
	c := Cost{HourlyUSD: 1.0274, PriceDate: "2026-11-20", Items: []CostItem{
		{Name: "EKS control plane", Detail: "1 cluster, standard support", HourlyUSD: 0.1},
		{Name: "worker nodes", Detail: "4 x c6i.xlarge on-demand at $0.17", HourlyUSD: 0.68},
	}, Unpriced: []string{"system nodes: m9.large: Pricing product query did not return any elements"}}
	got := c.String()
	for _, want := range []string{
		"Estimated cost: $1.03 per hour while the stack exists ($24.66 per day), at AWS prices of 2026-11-20: ",
		"worker nodes $0.68 (4 x c6i.xlarge on-demand at $0.17), EKS control plane $0.10 (1 cluster, standard support).",
		"Not priced: data transfer",
		"No price found, left out of the total: system nodes: m9.large",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the estimate reads\n%s\nwithout %q", got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	for usd, want := range map[float64]string{0.0416: "0.0416", 0.1: "0.10", 0.045: "0.045", 0.00658: "0.0066", 1.0274: "1.03", 24.6576: "24.66", 0: "0.00"} {
		if got := money(usd); got != want {
			t.Errorf("money(%v) = %q, want %q", usd, got, want)
		}
	}
}
