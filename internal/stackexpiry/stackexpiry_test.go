package stackexpiry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// backend stands in for the state backend behind the engine's builtin
// provider: it answers a pulumi:pulumi:StackReference read with the
// referenced stack's last outputs, as readStackReference does (pulumi/pulumi
// pkg/resource/deploy/builtins.go at v3.274.1: "name", "outputs",
// "secretOutputNames"), and records the outputs of each up.
type backend struct {
	// legacy: the name is parsed as a DIY legacy-layout store does, the
	// whole string as a stack name, which refuses "/"
	// (pkg/backend/diy/store.go, legacyReferenceStore.ParseReference; sdk
	// v3.274.1 go/common/tokens/stack_name.go:69-79).
	legacy bool
	// broken: every read fails, as a backend that cannot be reached.
	broken bool
	last   map[string]any
	names  []string
}

func (b *backend) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.TypeToken != "pulumi:pulumi:StackReference" {
		return "", nil, fmt.Errorf("unexpected resource %s", args.TypeToken)
	}
	name := args.Inputs["name"].StringValue()
	b.names = append(b.names, name)
	switch {
	case b.broken:
		return "", nil, errors.New("the backend is unreachable")
	case b.legacy && strings.Contains(name, "/"):
		return "", nil, fmt.Errorf("a stack name may only contain alphanumeric, hyphens, underscores, or periods: %q", name)
	}
	outputs := map[string]any{}
	for k, v := range b.last {
		outputs[k] = v
	}
	return name, resource.NewPropertyMapFromMap(map[string]any{
		"name": name, "outputs": outputs, "secretOutputNames": []any{},
	}), nil
}

func (b *backend) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}

// up runs Resolve as the program's up does at now and, when the run
// succeeds, records what the stack then exports, as the engine does at the
// end of a successful up. It returns Resolve's own error beside the run's.
func (b *backend) up(org string, ttl float64, now time.Time) (e Expiry, resolveErr, err error) {
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		e, resolveErr = Resolve(ctx, ttl, now)
		return resolveErr
	}, pulumi.WithMocksWithOrganization(org, "locust-eks", "dev", b))
	if err == nil {
		b.last = map[string]any{}
		if !e.At.IsZero() {
			b.last = map[string]any{ExpiresAtOutput: e.String(), TTLHoursOutput: e.TTLHours}
		}
	}
	return e, resolveErr, err
}

// TestResolveAcrossUps runs sequences of ups with the clock moved between
// them: the same ttlHours keeps the expiry while it is ahead, a past one
// counts afresh (an expired stack brought up again must not be reaped under
// its new test), a new ttlHours counts from its up, and the self reference
// works on every backend.
func TestResolveAcrossUps(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	type step struct {
		after time.Duration // since t0
		ttl   float64
		want  time.Duration // expiry since t0; -1: none
	}
	for _, tc := range []struct {
		name   string
		org    string
		legacy bool
		steps  []step
		ref    string
	}{
		{"the same ttlHours keeps the expiry while it is ahead", "acme", false, []step{
			{0, 8, 8 * time.Hour}, {time.Hour, 8, 8 * time.Hour}, {7*time.Hour + 59*time.Minute, 8, 8 * time.Hour},
		}, "acme/locust-eks/dev"},
		{"an up on an expired stack counts afresh", "acme", false, []step{
			{0, 8, 8 * time.Hour}, {9 * time.Hour, 8, 17 * time.Hour}, {10 * time.Hour, 8, 17 * time.Hour},
		}, "acme/locust-eks/dev"},
		{"at the minute of expiry it has passed", "acme", false, []step{
			{0, 1, time.Hour}, {time.Hour, 1, 2 * time.Hour},
		}, "acme/locust-eks/dev"},
		{"the clock a year on", "acme", false, []step{
			{0, 8, 8 * time.Hour}, {365 * 24 * time.Hour, 8, 365*24*time.Hour + 8*time.Hour},
		}, "acme/locust-eks/dev"},
		{"a new ttlHours counts from its up", "acme", false, []step{
			{0, 8, 8 * time.Hour}, {time.Hour, 12, 13 * time.Hour}, {2 * time.Hour, 0.5, 2*time.Hour + 30*time.Minute},
		}, "acme/locust-eks/dev"},
		{"ttlHours removed, then set again", "acme", false, []step{
			{0, 8, 8 * time.Hour}, {time.Hour, 0, -1}, {2 * time.Hour, 8, 10 * time.Hour},
		}, "acme/locust-eks/dev"},
		{"a DIY backend, project layout", "organization", false, []step{
			{0, 8, 8 * time.Hour}, {time.Hour, 8, 8 * time.Hour},
		}, "dev"},
		{"a DIY backend, legacy layout", "organization", true, []step{
			{0, 8, 8 * time.Hour}, {time.Hour, 8, 8 * time.Hour},
		}, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &backend{legacy: tc.legacy}
			for i, s := range tc.steps {
				e, _, err := b.up(tc.org, s.ttl, t0.Add(s.after))
				if err != nil {
					t.Fatalf("up %d (+%s, ttlHours %v): %v", i+1, s.after, s.ttl, err)
				}
				want := time.Time{}
				if s.want >= 0 {
					want = t0.Add(s.want)
				}
				if !e.At.Equal(want) {
					t.Fatalf("up %d (+%s, ttlHours %v): expiry %s, want %s", i+1, s.after, s.ttl, e.At, want)
				}
			}
			for _, name := range b.names {
				if name != tc.ref {
					t.Errorf("the stack referenced itself as %q, want %q", name, tc.ref)
				}
			}
		})
	}
}

// TestResolveFailsWhenTheStateCannotBeRead: a read the backend refuses
// fails the run whatever the program does (the engine fails the deployment
// on a read step's error; the mocks end the run with the read's error), so
// Resolve does not pretend to fall back to a fresh expiry: it returns the
// error, naming the reference it was reading.
func TestResolveFailsWhenTheStateCannotBeRead(t *testing.T) {
	b := &backend{broken: true}
	e, resolveErr, err := b.up("acme", 8, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	if err == nil {
		t.Fatal("the run succeeded on an unreadable backend")
	}
	if resolveErr == nil || !strings.Contains(resolveErr.Error(), `stack reference "acme/locust-eks/dev"`) || !e.At.IsZero() {
		t.Fatalf("Resolve on an unreadable backend: expiry %v, error %v; want no expiry and an error naming the reference", e.At, resolveErr)
	}
}

// TestSelfReference: Pulumi Cloud gets the fully qualified name, a DIY
// backend (organization "organization") the bare stack name.
func TestSelfReference(t *testing.T) {
	for _, tc := range []struct{ org, want string }{
		{"acme", "acme/locust-eks/dev"},
		{"organization", "dev"},
	} {
		if got := SelfReference(tc.org, "locust-eks", "dev"); got != tc.want {
			t.Errorf("SelfReference(%q): %q, want %q", tc.org, got, tc.want)
		}
	}
}
