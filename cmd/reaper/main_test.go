package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// fakeStack answers as the CLI does for one stack; the fixtures are in the
// shapes the Automation API parses:
//   - outputs: `pulumi stack output --json --show-secrets`, a map of values
//     (sdk v3.274.1 go/auto/local_workspace.go, StackOutputs);
//   - state: `pulumi stack export --show-secrets`, an UntypedDeployment whose
//     deployment is a DeploymentV3 (sdk go/common/apitype/core.go): the root
//     pulumi:pulumi:Stack is no custom resource, providers are
//     pulumi:providers:*, the read stack reference is external, and a
//     resource keeps its inputs, the AWS tags among them;
//   - history: `pulumi stack history --json`, newest first, startTime in
//     RFC 5424 milliseconds, config values as strings (pulumi/pulumi
//     pkg/cmd/pulumi/stack/stack_history.go, updateInfoJSON and
//     cmd.FormatTime); a DIY backend writes the entry only when the update
//     ends, failed or not, so a killed CLI leaves none
//     (pkg/backend/diy/backend.go, apply: addToHistory after the engine);
//   - config: `pulumi config --json`, key "project:key".
type fakeStack struct {
	outputs   auto.OutputMap
	resources []map[string]any
	history   string
	config    auto.ConfigMap
	destroyed bool
	fail      error
}

func (s *fakeStack) Outputs(context.Context) (auto.OutputMap, error) { return s.outputs, s.fail }

func (s *fakeStack) Export(context.Context) (apitype.UntypedDeployment, error) {
	all := append([]map[string]any{
		{"urn": "urn:pulumi:dev::locust-eks::pulumi:pulumi:Stack::locust-eks-dev", "custom": false, "type": "pulumi:pulumi:Stack"},
	}, s.resources...)
	b, err := json.Marshal(map[string]any{"manifest": map[string]any{"time": t0, "magic": "", "version": "v3.274.1"}, "resources": all})
	return apitype.UntypedDeployment{Version: 3, Deployment: b}, err
}

func (s *fakeStack) History(context.Context, int, int, ...opthistory.Option) ([]auto.UpdateSummary, error) {
	var h []auto.UpdateSummary
	if s.history == "" {
		return nil, nil
	}
	err := json.Unmarshal([]byte(s.history), &h)
	return h, err
}

func (s *fakeStack) GetAllConfig(context.Context) (auto.ConfigMap, error) { return s.config, nil }

// Destroy empties the state, as a destroy that succeeds does, leaving the
// root stack with no outputs.
func (s *fakeStack) Destroy(context.Context, ...optdestroy.Option) (auto.DestroyResult, error) {
	n := len(s.resources)
	s.resources, s.outputs, s.destroyed = nil, auto.OutputMap{}, true
	return auto.DestroyResult{Summary: auto.UpdateSummary{Kind: "destroy", ResourceChanges: &map[string]int{"delete": n}}}, nil
}

// fakeBackend is a workspace of fake stacks; it tracks the selection as
// `pulumi stack select` and `pulumi stack unselect` change it.
type fakeBackend struct {
	stacks   map[string]*fakeStack
	selected string
	opened   []string
}

func (b *fakeBackend) ListStacks(context.Context) ([]auto.StackSummary, error) {
	var l []auto.StackSummary
	for name := range b.stacks {
		l = append(l, auto.StackSummary{Name: name, Current: name == b.selected})
	}
	slices.SortFunc(l, func(a, b auto.StackSummary) int { return strings.Compare(a.Name, b.Name) })
	return l, nil
}

func (b *fakeBackend) Open(_ context.Context, name string) (stack, error) {
	b.selected = name
	b.opened = append(b.opened, name)
	return b.stacks[name], nil
}

func (b *fakeBackend) Select(_ context.Context, name string) error {
	b.selected = name
	return nil
}

// Resources as `pulumi stack export` holds them.
func vpc(tags map[string]any) map[string]any {
	return map[string]any{"urn": "urn:pulumi:dev::locust-eks::aws:ec2/vpc:Vpc::locust-vpc", "custom": true, "id": "vpc-0a1b2c3d",
		"type": "aws:ec2/vpc:Vpc", "inputs": map[string]any{"cidrBlock": "10.0.0.0/16", "tags": tags}}
}

var (
	awsProvider = map[string]any{"urn": "urn:pulumi:dev::locust-eks::pulumi:providers:aws::default_6_83_4", "custom": true,
		"id": "4e0b9c3a", "type": "pulumi:providers:aws", "inputs": map[string]any{"region": "us-east-1"}}
	selfReference = map[string]any{"urn": "urn:pulumi:dev::locust-eks::pulumi:pulumi:StackReference::expiry-of-last-up", "custom": true,
		"external": true, "id": "dev", "type": "pulumi:pulumi:StackReference", "inputs": map[string]any{"name": "dev"}}
	namespace = map[string]any{"urn": "urn:pulumi:local::locust-eks::kubernetes:core/v1:Namespace::locust", "custom": true,
		"id": "locust", "type": "kubernetes:core/v1:Namespace", "inputs": map[string]any{"metadata": map[string]any{"name": "locust"}}}
)

// update is one `pulumi stack history --json` entry.
func update(kind, result string, start time.Time, ttl string) string {
	cfg := `"aws:region": {"value": "us-east-1", "secret": false}`
	if ttl != "" {
		cfg += `, "locust-eks:ttlHours": {"value": "` + ttl + `", "secret": false}`
	}
	return fmt.Sprintf(`{"version": 1, "kind": %q, "startTime": %q, "message": "", "environment": {"exec.kind": "cli"}, "config": {%s}, "result": %q}`,
		kind, start.Format("2006-01-02T15:04:05.000Z07:00"), cfg, result)
}

func withTTL(v string) auto.ConfigMap {
	return auto.ConfigMap{"aws:region": {Value: "us-east-1"}, "locust-eks:ttlHours": {Value: v}}
}

// TestJudge: the expiry is read from the last up's outputs and, when no up
// has recorded one, from the state and the history; a stack that bills and
// sets ttlHours is never kept silently.
func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	tagged := vpc(map[string]any{"expires-at": "2026-12-02T16:30:00Z", "stack": "dev"})
	for _, tc := range []struct {
		name      string
		stack     fakeStack
		expired   bool
		bad       bool
		reasonHas string
	}{
		{"no expiry", fakeStack{outputs: auto.OutputMap{"namespace": {Value: "locust"}}, resources: []map[string]any{awsProvider, vpc(map[string]any{"stack": "dev"})},
			history: "[" + update("update", "succeeded", t0, "") + "]", config: auto.ConfigMap{}}, false, false, "kept: no expiry (no ttlHours)"},
		{"expired", fakeStack{outputs: auto.OutputMap{"expiresAt": {Value: "2026-12-02T16:30:00Z"}}}, true, false, "expired 2026-12-02T16:30:00Z, 1h30m0s ago"},
		{"at the minute", fakeStack{outputs: auto.OutputMap{"expiresAt": {Value: "2026-12-02T18:00:00Z"}}}, true, false, "0s ago"},
		{"pushed back", fakeStack{outputs: auto.OutputMap{"expiresAt": {Value: "2026-12-03T02:00:00Z"}}}, false, false, "in 8h0m0s"},
		{"not a time", fakeStack{outputs: auto.OutputMap{"expiresAt": {Value: "tomorrow"}}}, false, true, `"tomorrow" is no time`},
		{"outputs unreadable", fakeStack{fail: errors.New("decrypting: passphrase")}, false, true, "not handled: reading its outputs"},
		{"a failed first up: its resources' tag", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{awsProvider, selfReference, tagged},
			history: "[" + update("update", "failed", t0, "8") + "]", config: withTTL("8")}, true, false, "expired 2026-12-02T16:30:00Z (its resources' expires-at tag"},
		{"a failed first up on an existing cluster: its history", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{selfReference, namespace},
			history: "[" + update("update", "failed", t0, "2") + "]", config: withTTL("2")}, true, false, "expired 2026-12-02T12:00:00Z (ttlHours 2 of its failed update"},
		{"the history's last update counts", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{namespace},
			history: "[" + update("update", "failed", t0.Add(7*time.Hour), "8") + "," + update("update", "failed", t0, "2") + "]", config: withTTL("8")}, false, false, "kept: expires 2026-12-03T01:00:00Z"},
		{"an interrupted first up, no history: not kept silently", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{selfReference, namespace},
			config: withTTL("8")}, false, true, `not handled: 1 resources and ttlHours "8" in its stack file, but no up recorded an expiry`},
		{"a bad ttlHours in the history", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{namespace},
			history: "[" + update("update", "failed", t0, "eight") + "]", config: withTTL("eight")}, false, true, `ttlHours "eight" is no number`},
		{"nothing deployed", fakeStack{outputs: auto.OutputMap{}, resources: []map[string]any{awsProvider, selfReference},
			history: "[" + update("update", "failed", t0, "8") + "]", config: withTTL("8")}, false, false, "kept: no expiry, nothing deployed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(context.Background(), &tc.stack, now)
			if v.expired != tc.expired || v.unreadable != tc.bad || !strings.Contains(v.reason, tc.reasonHas) {
				t.Errorf("%+v, want expired %v, unreadable %v, a reason with %q", v, tc.expired, tc.bad, tc.reasonHas)
			}
		})
	}
}

// TestReapAfterAFailedFirstUp runs the reaper hourly after a first up that
// failed, as the scheduled workflow does: the stack is kept while its
// ttlHours runs, destroyed once past, and then left alone.
func TestReapAfterAFailedFirstUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stack *fakeStack
	}{
		{"EKS: the expires-at tag", &fakeStack{outputs: auto.OutputMap{}, config: withTTL("1"),
			resources: []map[string]any{awsProvider, selfReference, vpc(map[string]any{"expires-at": "2026-12-02T11:00:00Z", "stack": "dev"})},
			history:   "[" + update("update", "failed", t0, "1") + "]"}},
		{"an existing cluster: the history", &fakeStack{outputs: auto.OutputMap{}, config: withTTL("1"),
			resources: []map[string]any{selfReference, namespace},
			history:   "[" + update("update", "failed", t0, "1") + "]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{stacks: map[string]*fakeStack{"dev": tc.stack}}
			for _, run := range []struct {
				after    time.Duration
				code     int
				want     string
				destroys bool
			}{
				{30 * time.Minute, 0, "dev: kept: expires 2026-12-02T11:00:00Z", false},
				{2 * time.Hour, 0, "dev: destroyed", true},
				{3 * time.Hour, 0, "dev: kept: no expiry, nothing deployed", true},
			} {
				var out, progress strings.Builder
				code := reap(context.Background(), b, nil, t0.Add(run.after), false, &out, &progress)
				if code != run.code || !strings.Contains(out.String(), run.want) || tc.stack.destroyed != run.destroys {
					t.Fatalf("+%s: exit %d, destroyed %v:\n%s\nwant exit %d, %q", run.after, code, tc.stack.destroyed, out.String(), run.code, run.want)
				}
			}
		})
	}
}

// TestReapScope: the selection the run found is restored (or none), a
// stack of another organization is skipped unless named, --stack lists
// are trimmed, and a stack that bills with ttlHours set but no expiry fails
// the run.
func TestReapScope(t *testing.T) {
	kept := func() *fakeStack {
		return &fakeStack{outputs: auto.OutputMap{"expiresAt": {Value: "2026-12-03T10:00:00Z"}, "ttlHours": {Value: 24.0}}}
	}
	for _, tc := range []struct {
		name     string
		selected string
		only     string
		unknown  bool
		code     int
		opened   []string
		outHas   string
	}{
		{"a selected stack is selected again", "dev", "", false, 0, []string{"dev", "prod"}, "2 stacks"},
		{"no selection stays none", "", "", false, 0, []string{"dev", "prod"}, "dev: kept: expires"},
		{"another organization's stack is skipped", "dev", "", true, 0, []string{"dev", "prod"}, "acme/dev: skipped: a stack of another organization"},
		{"unless --stack names it", "dev", "acme/dev", true, 0, []string{"acme/dev"}, "acme/dev: kept: expires"},
		{"--stack with spaces", "", " dev , prod,", false, 0, []string{"dev", "prod"}, "prod: kept"},
		{"--stack of no such stack", "", "dev,qa", false, 2, nil, "0 stacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{stacks: map[string]*fakeStack{"dev": kept(), "prod": kept()}, selected: tc.selected}
			if tc.unknown {
				b.stacks["acme/dev"] = kept()
			}
			var out, progress strings.Builder
			code := reap(context.Background(), b, stackList(tc.only), t0, false, &out, &progress)
			if code != tc.code || !slices.Equal(b.opened, tc.opened) || (code == 0 && !strings.Contains(out.String(), tc.outHas)) {
				t.Errorf("exit %d, opened %v:\n%s%s\nwant exit %d, opened %v, %q", code, b.opened, out.String(), progress.String(), tc.code, tc.opened, tc.outHas)
			}
			if b.selected != tc.selected {
				t.Errorf("the run left %q selected; it found %q", b.selected, tc.selected)
			}
		})
	}

	// A stack that bills, with ttlHours but no recorded expiry, fails the
	// run; the others are still handled.
	b := &fakeBackend{stacks: map[string]*fakeStack{"dev": {outputs: auto.OutputMap{}, config: withTTL("8"),
		resources: []map[string]any{namespace}}, "prod": kept()}}
	var out, progress strings.Builder
	if code := reap(context.Background(), b, nil, t0, false, &out, &progress); code != 1 || !strings.Contains(out.String(), "prod: kept") {
		t.Errorf("exit %d:\n%s\nwant 1, and prod still handled", code, out.String())
	}
}

func TestStackList(t *testing.T) {
	for in, want := range map[string][]string{"": nil, "dev": {"dev"}, "dev, prod": {"dev", "prod"}, " dev ,, prod ,": {"dev", "prod"}} {
		if got := stackList(in); !slices.Equal(got, want) {
			t.Errorf("stackList(%q) = %q, want %q", in, got, want)
		}
	}
}
