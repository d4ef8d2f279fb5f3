package main

import (
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/stackexpiry"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// lastOutputs are the outputs the mocked backend holds for the stack from
// its last up; tests of the expiry set them.
var lastOutputs map[string]any

// stackReference answers a pulumi:pulumi:StackReference read as the engine's
// builtin provider does (pkg/resource/deploy/builtins.go,
// readStackReference at v3.274.1): the name, the referenced stack's
// outputs, and the names of the secret ones.
func stackReference(args pulumi.MockResourceArgs, outputs map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"name": args.Inputs["name"].StringValue(), "outputs": outputs, "secretOutputNames": []any{},
	})
}

// TestTimeToLive: ttlHours puts an expiry on the stack, kept while ttlHours
// is unchanged and the expiry is ahead, counted from the up that changes it
// or that brings an expired stack up again, and tags every AWS
// resource with it except what outlives the stack (the results bucket) and
// what would roll the nodes (the launch template's instance and volume
// tags).
func TestTimeToLive(t *testing.T) {
	defer func() { lastOutputs = nil }()
	// cmd/reaper reads the tag back from the state of a stack whose first
	// up failed before its outputs were recorded.
	if ExpiresAtTag != stackexpiry.Tag {
		t.Fatalf("the program tags %q, the reaper reads %q", ExpiresAtTag, stackexpiry.Tag)
	}
	ahead := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)
	past := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)
	for _, tc := range []struct {
		name string
		ttl  string
		last map[string]any
		// want is the expiry: "" none, "fresh" now + ttl, else that time.
		want string
	}{
		{"no TTL", "", nil, ""},
		{"a first up", "8", nil, "fresh"},
		{"the same TTL keeps the expiry", "8", map[string]any{"ttlHours": 8.0, "expiresAt": ahead}, ahead},
		{"a new TTL counts from this up", "12", map[string]any{"ttlHours": 8.0, "expiresAt": ahead}, "fresh"},
		// The reaper has not reached the expired stack yet: this up's
		// resources must not carry, nor the reaper act on, a past expiry.
		{"an expiry already past counts afresh", "8", map[string]any{"ttlHours": 8.0, "expiresAt": past}, "fresh"},
		{"half an hour", "0.5", nil, "fresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lastOutputs = tc.last
			before := time.Now().UTC()
			s := mustRun(t, "dev", map[string]string{"ttlHours": tc.ttl})
			got, _ := s.outputs["expiresAt"].(string)
			switch tc.want {
			case "":
				if got != "" || s.count("pulumi:pulumi:StackReference") != 0 {
					t.Fatalf("expiresAt %q and %d stack references without a TTL; want none", got, s.count("pulumi:pulumi:StackReference"))
				}
				return
			case "fresh":
				at, err := time.Parse(time.RFC3339, got)
				hours := map[string]float64{"8": 8, "12": 12, "0.5": 0.5}[tc.ttl]
				want := before.Add(time.Duration(hours * float64(time.Hour)))
				if err != nil || at.Before(want.Add(-time.Minute)) || at.After(want.Add(time.Minute)) {
					t.Fatalf("expiresAt %q, want about %s", got, want.Format(time.RFC3339))
				}
			default:
				if got != tc.want {
					t.Fatalf("expiresAt %q, want the last up's %q", got, tc.want)
				}
			}
			for _, typ := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/natGateway:NatGateway", "eks:index:Cluster", "eks:index:ManagedNodeGroup", "aws:iam/role:Role", "aws:ec2/launchTemplate:LaunchTemplate"} {
				for _, r := range s.monitor.OfType(typ) {
					if tags, _ := r.Object()["tags"].(map[string]any); tags[ExpiresAtTag] != got || tags["stack"] != "dev" {
						t.Errorf("%s %s tags %v, want %s=%s beside the stack's", typ, r.Name, tags, ExpiresAtTag, got)
					}
				}
			}
			lt := s.get(t, "aws:ec2/launchTemplate:LaunchTemplate", "locust-nodes").Object()
			for _, spec := range lt["tagSpecifications"].([]any) {
				tags := spec.(map[string]any)["tags"].(map[string]any)
				if _, ok := tags[ExpiresAtTag]; ok || tags["stack"] != "dev" {
					t.Errorf("launch template tags its %v with %v: a new expiry would roll the nodes", spec.(map[string]any)["resourceType"], tags)
				}
			}
			for _, r := range s.monitor.OfType("aws:s3/bucketV2:BucketV2") {
				if tags, _ := r.Object()["tags"].(map[string]any); tags[ExpiresAtTag] != nil {
					t.Errorf("the results bucket, which outlives the stack, is tagged %s", ExpiresAtTag)
				}
			}
			if s.outputs["ttlHours"] == nil || !strings.Contains(got, "T") {
				t.Errorf("outputs ttlHours %v, expiresAt %q", s.outputs["ttlHours"], got)
			}
		})
	}
}
