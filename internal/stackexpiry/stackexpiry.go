// Package stackexpiry gives a stack a time to live: an expiry time that a
// reaper (cmd/reaper) acts on, set from the ttlHours config and kept stable
// across ups, so that an unchanged ttlHours does not move it (nor retag
// every AWS resource on each up) and a new one pushes it back.
package stackexpiry

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Output names: the stack exports both, and reads its own last ones back.
const (
	ExpiresAtOutput = "expiresAt"
	TTLHoursOutput  = "ttlHours"
)

// Expiry is when the stack expires; the zero time when it has no TTL.
type Expiry struct {
	At       time.Time
	TTLHours float64
}

// Resolve returns the stack's expiry for ttlHours (0: none): the one the
// last up recorded while ttlHours is unchanged, else now plus ttlHours, to
// the minute. It reads the last outputs through a reference to the stack
// itself, which only reads the backend's state.
func Resolve(ctx *pulumi.Context, ttlHours float64, now time.Time) (Expiry, error) {
	if ttlHours <= 0 {
		return Expiry{}, nil
	}
	fresh := Expiry{At: now.UTC().Add(time.Duration(ttlHours * float64(time.Hour))).Truncate(time.Minute), TTLHours: ttlHours}
	self := fmt.Sprintf("%s/%s/%s", ctx.Organization(), ctx.Project(), ctx.Stack())
	ref, err := pulumi.NewStackReference(ctx, "expiry-of-last-up", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return Expiry{}, err
	}
	last, err := ref.GetOutputDetails(TTLHoursOutput)
	if err != nil || last == nil || last.Value == nil {
		return fresh, nil
	}
	// Outputs come back as JSON numbers, float64.
	if lastTTL, ok := last.Value.(float64); !ok || lastTTL != ttlHours {
		return fresh, nil
	}
	at, err := ref.GetOutputDetails(ExpiresAtOutput)
	if err != nil || at == nil {
		return fresh, nil
	}
	s, _ := at.Value.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fresh, nil
	}
	return Expiry{At: t, TTLHours: ttlHours}, nil
}

// Outputs are the stack outputs recording e; none without a TTL.
func (e Expiry) Outputs() pulumi.Map {
	if e.At.IsZero() {
		return pulumi.Map{}
	}
	return pulumi.Map{ExpiresAtOutput: pulumi.String(e.String()), TTLHoursOutput: pulumi.Float64(e.TTLHours)}
}

// String is the expiry as the outputs and tags carry it (RFC 3339, UTC).
func (e Expiry) String() string { return e.At.UTC().Format(time.RFC3339) }
