// Command reaper destroys the stacks of this project whose time to live
// (ttlHours) has passed, so a load-test cluster does not outlive its
// campaign. It lists the backend's stacks of the project in --dir, reads
// each one's expiry, destroys each expired stack with `pulumi destroy`, and
// says what it did with every stack. An expiry pushed back by a later up is
// honoured, since only the last up's output counts. The results bucket's
// contents are kept, as by any destroy.
//
//	go run ./cmd/reaper [--dir .] [--stack dev,...] [--dry-run] [--now 2026-12-02T18:00:00Z]
//
// The expiry is the last up's expiresAt output. A stack whose first up
// failed or was interrupted has none (the program exports its outputs only
// when it has finished), yet bills for what it created: for it the reaper
// reads the expires-at tag its resources carry in the state, else the
// ttlHours of its last update in the history plus that update's start. A
// stack with resources, no recorded expiry and ttlHours in its stack file
// is reported as not handled (exit 1), never kept silently. A stack of
// another organization (listed as org/stack by Pulumi Cloud) is skipped
// unless --stack names it. The stack selected in the workspace before the
// run is selected again after it.
//
// It needs what `pulumi destroy` needs: the pulumi CLI on PATH, the backend
// login (PULUMI_BACKEND_URL), the secrets passphrase or key, and the
// cloud credentials of the stacks.
//
// Exit codes: 0 every expired stack destroyed (or, with --dry-run, listed;
// or the usage asked for with -h); 1 a stack could not be read or
// destroyed, or has resources and ttlHours but no recorded expiry, or the
// selection could not be restored (the others were still handled); 2 bad
// flags, or the project could not be opened or its stacks listed. `reaper
// -h` prints them in full.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/stackexpiry"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Exit codes, as usage describes them. Numbers, not iota: the usage test
// reads them from the source.
const (
	exitOK          = 0
	exitNotHandled  = 1
	exitCouldNotRun = 2
)

// usage is the reaper's help, for -h; the flags' defaults follow its %s.
const usage = `reaper destroys the stacks of this project whose time to live (ttlHours)
has passed, so a load-test cluster does not outlive its campaign.

It lists the backend's stacks of the project in --dir and reads each one's
expiry: the last up's expiresAt output; for a stack whose first up failed or
was interrupted, the expires-at tag its resources carry in the state, else
the ttlHours and start of its last update. It destroys each expired stack with
pulumi destroy and prints one line per stack saying what it did. A stack
without ttlHours is never touched; a stack of another organization is skipped
unless --stack names it; the results bucket's contents are kept, as by any
destroy; the stack selected before the run is selected again after it.

It needs what pulumi destroy needs: the pulumi CLI on PATH, the backend login
(PULUMI_BACKEND_URL), the secrets passphrase or key, and the stacks' cloud
credentials.

Usage:

	reaper [--dir DIR] [--stack NAME,...] [--dry-run] [--now TIME]

Examples:

	# what would go; changes nothing
	go run ./cmd/reaper --dry-run

	# destroy every expired stack of the project
	go run ./cmd/reaper

	# what a run tomorrow morning would do to dev
	go run ./cmd/reaper --stack dev --now 2026-12-03T08:00:00Z --dry-run

Flags (one dash or two: -dry-run or --dry-run):

%s
Exit codes:

	0  every expired stack destroyed (with --dry-run: listed); or the usage
	   was asked for (-h)
	1  a stack could not be read or destroyed, or has resources and ttlHours
	   but no recorded expiry, or the stack selected before the run could not
	   be selected again; the other stacks were still handled
	2  bad flags, the project could not be opened, its stacks could not be
	   listed, or --stack names no stack of the project
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, openWorkspace))
}

// run reads the flags, opens the project with open and reaps its stacks;
// it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, open func(ctx context.Context, dir string) (backend, error)) int {
	fs := flag.NewFlagSet("reaper", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, the usage by usage
	dir := fs.String("dir", ".", "the project directory (Pulumi.yaml)")
	dryRun := fs.Bool("dry-run", false, "print what would be destroyed; change nothing")
	only := fs.String("stack", "", "handle only these stacks (comma-separated); default: every stack of the project in the default organization")
	nowFlag := fs.String("now", "", "reap as of this time (RFC 3339), to see what a later run would do; default: now")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		var defaults strings.Builder
		fs.SetOutput(&defaults)
		fs.PrintDefaults()
		fmt.Fprintf(stdout, usage, defaults.String())
		return exitOK
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("%q is no flag: the reaper takes flags only", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "reaper: %v\nRun 'reaper -h' for the usage.\n", err)
		return exitCouldNotRun
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "reaper: --now %q: want a time like 2026-12-02T18:00:00Z\n", *nowFlag)
			return exitCouldNotRun
		}
		now = t
	}
	b, err := open(ctx, *dir)
	if err != nil {
		fmt.Fprintf(stderr, "reaper: opening the project in %s: %v\n", *dir, err)
		return exitCouldNotRun
	}
	return reap(ctx, b, stackList(*only), now, *dryRun, stdout, stderr)
}

// openWorkspace opens the project in dir as a local Automation API workspace.
func openWorkspace(ctx context.Context, dir string) (backend, error) {
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(dir))
	if err != nil {
		return nil, err
	}
	return workspace{ws}, nil
}

// stackList splits a --stack value: "dev, prod" is dev and prod.
func stackList(s string) []string {
	var names []string
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// backend is what the reaper needs of the Automation API workspace.
type backend interface {
	// ListStacks lists the project's stacks, the selected one marked.
	ListStacks(ctx context.Context) ([]auto.StackSummary, error)
	// Open gets a stack to read and destroy; it selects the stack.
	Open(ctx context.Context, name string) (stack, error)
	// Select selects the named stack again, or none for "".
	Select(ctx context.Context, name string) error
}

// stack is what the reaper reads and does with one stack; *auto.Stack.
type stack interface {
	Outputs(ctx context.Context) (auto.OutputMap, error)
	Export(ctx context.Context) (apitype.UntypedDeployment, error)
	History(ctx context.Context, pageSize, page int, opts ...opthistory.Option) ([]auto.UpdateSummary, error)
	GetAllConfig(ctx context.Context) (auto.ConfigMap, error)
	Destroy(ctx context.Context, opts ...optdestroy.Option) (auto.DestroyResult, error)
}

// workspace is the backend of a local workspace.
type workspace struct{ ws auto.Workspace }

func (w workspace) ListStacks(ctx context.Context) ([]auto.StackSummary, error) {
	return w.ws.ListStacks(ctx)
}

// Open selects the stack: auto.SelectStack is the only way to a Stack of an
// existing one, and runs `pulumi stack select` (sdk v3.274.1
// go/auto/local_workspace.go:675-690); the commands on it pass --stack.
func (w workspace) Open(ctx context.Context, name string) (stack, error) {
	s, err := auto.SelectStack(ctx, name, w.ws)
	return &s, err
}

// Select restores the selection the run found: that stack, or none
// (`pulumi stack unselect`, which the Workspace interface lacks).
func (w workspace) Select(ctx context.Context, name string) error {
	if name != "" {
		return w.ws.SelectStack(ctx, name)
	}
	env := []string{}
	if home := w.ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range w.ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	_, stderr, _, err := w.ws.PulumiCommand().Run(ctx, w.ws.WorkDir(), nil, nil, nil, env, "stack", "unselect")
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr))
	}
	return nil
}

// reap handles every stack of the backend's project in the default
// organization, or those of only, and returns the exit code.
func reap(ctx context.Context, b backend, only []string, now time.Time, dryRun bool, out, progress io.Writer) (code int) {
	all, err := b.ListStacks(ctx)
	if err != nil {
		fmt.Fprintf(progress, "reaper: listing the stacks: %v\n", err)
		return exitCouldNotRun
	}
	for _, name := range only {
		if !slices.ContainsFunc(all, func(s auto.StackSummary) bool { return s.Name == name }) {
			fmt.Fprintf(progress, "reaper: --stack %s: the backend has no such stack of this project\n", name)
			return exitCouldNotRun
		}
	}
	var stacks []string
	selected := ""
	for _, s := range all {
		if s.Current {
			selected = s.Name
		}
		if len(only) == 0 || slices.Contains(only, s.Name) {
			stacks = append(stacks, s.Name)
		}
	}
	fmt.Fprintf(out, "%d stacks, as of %s:\n", len(stacks), now.UTC().Format(time.RFC3339))
	opened := false
	defer func() {
		if !opened {
			return
		}
		if err := b.Select(context.WithoutCancel(ctx), selected); err != nil {
			fmt.Fprintf(progress, "reaper: selecting %q again, as before the run: %v\n", selected, err)
			code = max(code, exitNotHandled)
		}
	}()
	for _, name := range stacks {
		// Pulumi Cloud lists the project's stacks of every organization
		// the login belongs to, those outside the default one as org/stack
		// (pulumi/pulumi pkg/backend/httpstate/stack.go,
		// cloudBackendReference.String): not this deployment's to reap.
		if strings.Contains(name, "/") && !slices.Contains(only, name) {
			fmt.Fprintf(out, "%s: skipped: a stack of another organization (name it with --stack to handle it)\n", name)
			continue
		}
		opened = true
		s, err := b.Open(ctx, name)
		if err != nil {
			fmt.Fprintf(out, "%s: not handled: selecting it: %v\n", name, err)
			code = exitNotHandled
			continue
		}
		v := judge(ctx, s, now)
		if !v.expired || dryRun {
			prefix := ""
			if v.expired {
				prefix = "would destroy: "
			}
			fmt.Fprintf(out, "%s: %s%s\n", name, prefix, v.reason)
			if v.unreadable {
				code = exitNotHandled
			}
			continue
		}
		fmt.Fprintf(progress, "reaper: destroying %s (%s)\n", name, v.reason)
		res, err := s.Destroy(ctx, optdestroy.ProgressStreams(progress))
		if err != nil {
			fmt.Fprintf(out, "%s: destroy FAILED (%s): %v\n", name, v.reason, err)
			code = exitNotHandled
			continue
		}
		deleted := 0
		if res.Summary.ResourceChanges != nil {
			deleted = (*res.Summary.ResourceChanges)["delete"]
		}
		fmt.Fprintf(out, "%s: destroyed, %d resources deleted (%s)\n", name, deleted, v.reason)
	}
	return code
}

// verdict is what to do with one stack.
type verdict struct {
	expired    bool
	unreadable bool
	reason     string
}

// judge finds a stack's expiry in what its backend records, the most
// direct record first, and reads only as far as it needs.
func judge(ctx context.Context, s stack, now time.Time) verdict {
	outputs, err := s.Outputs(ctx)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: reading its outputs: %v", err)}
	}
	if o, ok := outputs[stackexpiry.ExpiresAtOutput]; ok {
		str, _ := o.Value.(string)
		at, err := time.Parse(time.RFC3339, str)
		if err != nil {
			return verdict{unreadable: true, reason: fmt.Sprintf("kept: its expiresAt %q is no time", str)}
		}
		return decide(at, str, now)
	}
	// No up has finished with a TTL. A first up that failed or was
	// interrupted still bills for what it created.
	exported, err := s.Export(ctx)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: no expiresAt, and exporting its state: %v", err)}
	}
	deployed, tagged, err := readState(exported)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: no expiresAt, and reading its state: %v", err)}
	}
	if deployed == 0 {
		return verdict{reason: "kept: no expiry, nothing deployed"}
	}
	if !tagged.IsZero() {
		return decide(tagged, tagged.Format(time.RFC3339)+" (its resources' "+stackexpiry.Tag+" tag: no up has finished since)", now)
	}
	history, err := s.History(ctx, 0, 0)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: %d resources, no expiresAt, and reading its history: %v", deployed, err)}
	}
	if at, from, ok, err := fromHistory(history); err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: %d resources, no expiresAt: %v", deployed, err)}
	} else if ok {
		return decide(at, at.Format(time.RFC3339)+" ("+from+")", now)
	}
	cfg, err := s.GetAllConfig(ctx)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: %d resources, no expiresAt, and reading its config: %v", deployed, err)}
	}
	if ttl, ok := cfg[stackexpiry.ConfigKey]; ok && strings.TrimSpace(ttl.Value) != "" && strings.TrimSpace(ttl.Value) != "0" {
		return verdict{unreadable: true, reason: fmt.Sprintf("not handled: %d resources and ttlHours %q in its stack file, but no up recorded an expiry "+
			"(an interrupted first up?): run `pulumi up` to give it one, or `pulumi destroy`", deployed, ttl.Value)}
	}
	return verdict{reason: "kept: no expiry (no ttlHours)"}
}

// decide compares an expiry with now; what describes where it came from.
func decide(at time.Time, what string, now time.Time) verdict {
	if now.Before(at) {
		return verdict{reason: fmt.Sprintf("kept: expires %s, in %s", what, at.Sub(now).Round(time.Minute))}
	}
	return verdict{expired: true, reason: fmt.Sprintf("expired %s, %s ago", what, now.Sub(at).Round(time.Minute))}
}

// readState counts the resources of an exported state that can bill (the
// custom resources the stack manages, and those a pending operation was
// creating), and finds the latest expires-at tag among their inputs: the
// expiry the program computed before it created them.
func readState(u apitype.UntypedDeployment) (deployed int, tagged time.Time, err error) {
	var d apitype.DeploymentV3
	if len(u.Deployment) > 0 {
		if err := json.Unmarshal(u.Deployment, &d); err != nil {
			return 0, time.Time{}, fmt.Errorf("state version %d: %w", u.Version, err)
		}
	}
	resources := d.Resources
	for _, op := range d.PendingOperations {
		resources = append(resources, op.Resource)
	}
	for _, r := range resources {
		if !r.Custom || r.External || strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			continue
		}
		deployed++
		tags, _ := r.Inputs["tags"].(map[string]any)
		s, _ := tags[stackexpiry.Tag].(string)
		if t, err := time.Parse(time.RFC3339, s); err == nil && t.After(tagged) {
			tagged = t
		}
	}
	return deployed, tagged, nil
}

// fromHistory is the expiry the stack's last update meant to record: its
// start plus the ttlHours of its config, as the program counts a first
// expiry. ok is false when that update had no ttlHours.
func fromHistory(history []auto.UpdateSummary) (at time.Time, from string, ok bool, err error) {
	var last *auto.UpdateSummary
	for i := range history {
		if history[i].Kind != "update" {
			continue
		}
		if last == nil || parseTime(history[i].StartTime).After(parseTime(last.StartTime)) {
			last = &history[i]
		}
	}
	if last == nil {
		return time.Time{}, "", false, nil
	}
	v, set := last.Config[stackexpiry.ConfigKey]
	if !set || strings.TrimSpace(v.Value) == "" {
		return time.Time{}, "", false, nil
	}
	hours, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("its last update's ttlHours %q is no number of hours", v.Value)
	}
	if hours <= 0 {
		return time.Time{}, "", false, nil
	}
	start, err := time.Parse(time.RFC3339, last.StartTime)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("its last update's start %q is no time", last.StartTime)
	}
	at = start.UTC().Add(time.Duration(hours * float64(time.Hour))).Truncate(time.Minute)
	return at, fmt.Sprintf("ttlHours %s of its %s update of %s, which recorded no expiresAt", v.Value, last.Result, last.StartTime), true, nil
}

// parseTime parses an RFC 3339 time, the zero time if it is none.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
