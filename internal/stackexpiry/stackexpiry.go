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

// Tag is the AWS tag that carries the expiry on the stack's resources. The
// reaper reads it back from the state when a failed first up recorded no
// expiresAt output (the program exports its outputs only at its end).
const Tag = "expires-at"

// ConfigKey is the stack config key of the time to live, as the stack file
// and the update history (`pulumi stack history --json`) name it.
const ConfigKey = "locust-eks:ttlHours"

// diyOrganization is the organization every DIY (self-managed) backend
// reports, and the one the SDK assumes when the engine sends none:
// pulumi/pulumi pkg/backend/diy/backend.go, diyBackendReference.Organization
// ("DIY backend always uses \"organization\""); sdk v3.274.1
// go/pulumi/context.go:294-300.
const diyOrganization = "organization"

// Expiry is when the stack expires; the zero time when it has no TTL.
type Expiry struct {
	At       time.Time
	TTLHours float64
}

// Resolve returns the stack's expiry for ttlHours (0: none): the one the
// last up recorded while ttlHours is unchanged and that expiry is still
// ahead, else now plus ttlHours, to the minute. An expiry already past
// counts as none: an expired stack the reaper has not reached yet (it runs
// hourly, and its destroy can fail) would otherwise be brought up again
// with an expiry in the past and reaped under the test that brought it up.
// It reads the last outputs through a reference to the stack itself, which
// only reads the backend's state.
func Resolve(ctx *pulumi.Context, ttlHours float64, now time.Time) (Expiry, error) {
	if ttlHours <= 0 {
		return Expiry{}, nil
	}
	fresh := Expiry{At: now.UTC().Add(time.Duration(ttlHours * float64(time.Hour))).Truncate(time.Minute), TTLHours: ttlHours}
	self := SelfReference(ctx.Organization(), ctx.Project(), ctx.Stack())
	ref, err := pulumi.NewStackReference(ctx, "expiry-of-last-up", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return Expiry{}, err
	}
	// The engine reads the reference in a read step; a backend that cannot
	// resolve the name fails the whole deployment there
	// (pulumi/pulumi pkg/resource/deploy/step.go, ReadStep.Apply returns
	// the provider's error), so an error here only passes it on: there is
	// no reading "no last up" out of it.
	last, err := ref.GetOutputDetails(TTLHoursOutput)
	if err != nil {
		return Expiry{}, fmt.Errorf("reading the last up's %s through the stack reference %q: %w", TTLHoursOutput, self, err)
	}
	// Outputs come back as JSON numbers, float64. A first up, or one
	// after a change of ttlHours, counts afresh.
	if lastTTL, ok := last.Value.(float64); !ok || lastTTL != ttlHours {
		return fresh, nil
	}
	at, err := ref.GetOutputDetails(ExpiresAtOutput)
	if err != nil {
		return Expiry{}, fmt.Errorf("reading the last up's %s through the stack reference %q: %w", ExpiresAtOutput, self, err)
	}
	s, _ := at.Value.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !t.After(now) {
		return fresh, nil
	}
	return Expiry{At: t, TTLHours: ttlHours}, nil
}

// SelfReference is the name under which a stack reference finds the stack
// itself. Pulumi Cloud needs organization/project/stack: a bare name would
// resolve in the user's default organization, not necessarily the stack's.
// A DIY backend gets the bare stack name, which both of its layouts resolve
// to the current project's stack; the legacy layout (a bucket from before
// project-scoped stacks, never `pulumi state upgrade`d) passes the whole
// name to tokens.ParseStackName, which refuses a "/" (pulumi/pulumi
// pkg/backend/diy/store.go, legacyReferenceStore.ParseReference and
// projectReferenceStore.ParseReference; sdk v3.274.1
// go/common/tokens/stack_name.go:51,69-79).
func SelfReference(organization, project, stack string) string {
	if organization == diyOrganization {
		return stack
	}
	return fmt.Sprintf("%s/%s/%s", organization, project, stack)
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
