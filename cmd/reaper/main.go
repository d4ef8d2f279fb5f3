// Command reaper destroys the stacks of this project whose time to live
// (ttlHours) has passed, so a load-test cluster does not outlive its
// campaign. It lists the backend's stacks of the project in --dir, reads
// each one's expiresAt output, destroys each expired stack with `pulumi
// destroy`, and says what it did with every stack. A stack without an
// expiry is never touched; an expiry pushed back by a later up is honoured,
// since only the last up's output counts. The results bucket's contents are
// kept, as by any destroy.
//
//	go run ./cmd/reaper [--dir .] [--stack dev,...] [--dry-run] [--now 2026-12-02T18:00:00Z]
//
// It needs what `pulumi destroy` needs: the pulumi CLI on PATH, the backend
// login (PULUMI_BACKEND_URL), the secrets passphrase or key, and the
// cloud credentials of the stacks.
//
// Exit codes: 0 every expired stack destroyed (or, with --dry-run, listed);
// 1 a stack could not be read or destroyed (the others were still handled);
// 2 bad flags, or the stacks could not be listed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/stackexpiry"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
)

func main() {
	dir := flag.String("dir", ".", "the project directory (Pulumi.yaml)")
	dryRun := flag.Bool("dry-run", false, "print what would be destroyed; change nothing")
	only := flag.String("stack", "", "handle only these stacks (comma-separated); default: every stack of the project")
	nowFlag := flag.String("now", "", "reap as of this time (RFC 3339), to see what a later run would do; default: now")
	flag.Parse()
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reaper: --now %q: want a time like 2026-12-02T18:00:00Z\n", *nowFlag)
			os.Exit(2)
		}
		now = t
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(*dir))
	if err != nil {
		fmt.Fprintf(os.Stderr, "reaper: opening the project in %s: %v\n", *dir, err)
		os.Exit(2)
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	os.Exit(reap(ctx, ws, names, now, *dryRun, os.Stdout, os.Stderr))
}

// reap handles every stack of the workspace's project, or those of only,
// and returns the exit code.
func reap(ctx context.Context, ws auto.Workspace, only []string, now time.Time, dryRun bool, out, progress io.Writer) int {
	all, err := ws.ListStacks(ctx)
	if err != nil {
		fmt.Fprintf(progress, "reaper: listing the stacks: %v\n", err)
		return 2
	}
	var stacks []auto.StackSummary
	for _, s := range all {
		if len(only) == 0 || slices.Contains(only, s.Name) {
			stacks = append(stacks, s)
		}
	}
	for _, name := range only {
		if !slices.ContainsFunc(all, func(s auto.StackSummary) bool { return s.Name == name }) {
			fmt.Fprintf(progress, "reaper: --stack %s: the backend has no such stack of this project\n", name)
			return 2
		}
	}
	fmt.Fprintf(out, "%d stacks, as of %s:\n", len(stacks), now.UTC().Format(time.RFC3339))
	code := 0
	for _, summary := range stacks {
		name := summary.Name
		stack, err := auto.SelectStack(ctx, name, ws)
		if err != nil {
			fmt.Fprintf(out, "%s: not handled: selecting it: %v\n", name, err)
			code = 1
			continue
		}
		outputs, err := stack.Outputs(ctx)
		if err != nil {
			fmt.Fprintf(out, "%s: not handled: reading its outputs: %v\n", name, err)
			code = 1
			continue
		}
		v := decide(outputs, now)
		if !v.expired || dryRun {
			prefix := ""
			if v.expired {
				prefix = "would destroy: "
			}
			fmt.Fprintf(out, "%s: %s%s\n", name, prefix, v.reason)
			if v.unreadable {
				code = 1
			}
			continue
		}
		fmt.Fprintf(progress, "reaper: destroying %s (%s)\n", name, v.reason)
		res, err := stack.Destroy(ctx, optdestroy.ProgressStreams(progress))
		if err != nil {
			fmt.Fprintf(out, "%s: destroy FAILED (%s): %v\n", name, v.reason, err)
			code = 1
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

// decide reads a stack's expiry from its last up's outputs.
func decide(outputs auto.OutputMap, now time.Time) verdict {
	o, ok := outputs[stackexpiry.ExpiresAtOutput]
	if !ok {
		return verdict{reason: "kept: no expiry (no ttlHours)"}
	}
	s, _ := o.Value.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return verdict{unreadable: true, reason: fmt.Sprintf("kept: its expiresAt %q is no time", s)}
	}
	if now.Before(at) {
		return verdict{reason: fmt.Sprintf("kept: expires %s, in %s", s, at.Sub(now).Round(time.Minute))}
	}
	return verdict{expired: true, reason: fmt.Sprintf("expired %s, %s ago", s, now.Sub(at).Round(time.Minute))}
}
