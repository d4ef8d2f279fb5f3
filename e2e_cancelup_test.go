package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkCancelledUp runs a campaign cancelled during its up leg's `up`
// (campaign.yml: pulumi/actions, command up, refresh true), then the up
// leg's end, then the stack's destroy leg, with its own scripts, to its
// end; twice:
//
//   - from the stack the destroy job has just emptied, so that the up has
//     every object to create, as a campaign's first up has; the cancel
//     lands as a Deployment is created. The Kubernetes provider stops its
//     operations on the engine's cancel, so the CLI ends within the grace.
//   - after a full up, an up of one more worker; the cancel lands as the
//     worker Deployment is updated, with the provider stopped so that its
//     operation outlasts the grace, as an AWS create does: the job's end
//     kills the CLI holding its lock, with the update pending (D1).
//
// Each must land mid-update (the held one must leave the lock and the
// pending update), and the destroy job must then leave no lock, no pending
// operation and no object of ours in the API server, exiting 0, or, where
// it fails, name what is left.
//
// How the runner cancels the pulumi/actions step, whose process is Node:
// SIGINT to that process alone (cancelRunStep). The action has no signal
// handler of its own (pulumi/actions@v7.0.0 src/main.ts: none in src/; the
// up is stack.up, main.ts:103). The Automation API for Node (@pulumi/pulumi
// 3.206.0, the version its yarn.lock pins) starts the CLI with execa and no
// cleanup option (sdk/nodejs/automation/cmd.ts:203), so execa 5.1.1's
// default cleanup holds (index.js:43): an onExit handler of signal-exit
// that kills the CLI with SIGTERM (lib/kill.js:95-100, spawnedKill's
// default signal, lib/kill.js:8). signal-exit 3.0.7's SIGINT listener,
// the only one, runs it and re-raises the SIGINT on Node (index.js:111-133),
// so Node dies at once and the runner sends it nothing more. Its 5 s
// SIGKILL timer (lib/kill.js:20-30) is unref'd and dies with Node. The CLI
// takes that one SIGTERM as a cancel (pulumi pkg/backend/
// cancellation_scope.go:89-101): it stops starting steps and tells the
// providers (pkg/resource/deploy/deployment_executor.go:144), and runs on
// until it ends or the job's end kills it (endJob) with its plugins, all of
// which carry the job's RUNNER_TRACKING_ID.
//
// The up runs through the Automation API for Go with the stack's inline
// program, the CLI as its child with the job's tracking ID in its
// environment: the CLI, its flags (up --yes --skip-preview --refresh) and
// its signals are the action's; only the program runs in this process
// instead of under the CLI's Go language host.
func checkCancelledUp(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, timings *timingTable,
	jobs destroyJobSteps, bin, workDir, backendDir string, stepEnv []string, host string,
) {
	t.Helper()
	kube.waitGone(t, "namespace/locust", 2*time.Minute)
	if left := kube.ours(); len(left) > 0 {
		t.Fatalf("objects of ours in the API server before the cancelled up: %v", left)
	}
	creatingDeployment := func(m apitype.StepEventMetadata) bool {
		return m.Op == apitype.OpCreate && strings.Contains(m.Type, "Deployment")
	}
	updatingDeployment := func(m apitype.StepEventMetadata) bool {
		return m.Op == apitype.OpUpdate && strings.Contains(m.Type, "Deployment")
	}
	for _, c := range []struct {
		name string
		// before: what brings the stack to where the cancelled up starts.
		before func()
		at     func(apitype.StepEventMetadata) bool
		// hold: the Kubernetes provider is stopped as the cancel lands, so
		// that its operation outlasts the job's grace as an AWS create
		// does (pulumi-aws's minutes-long creates run on after a cancel;
		// the Kubernetes provider stops its own at once: pulumi-kubernetes
		// provider/pkg/provider/provider.go:2674, Cancel). The CLI then
		// holds its lock and the operation stays pending until the job's
		// end kills it: the D1 case.
		hold bool
	}{
		{name: "up cancelled while creating, as the runner does", before: func() {}, at: creatingDeployment},
		{name: "up cancelled while updating, its provider held past the grace", before: func() {
			if _, err := stack.Up(ctx); err != nil {
				t.Fatalf("up before the held cancel: %v", err)
			}
			setConfig(t, ctx, stack, map[string]string{"workers": "4"})
		}, at: updatingDeployment, hold: true},
	} {
		c.before()
		stop := timings.start("cancelled campaign: " + c.name + ", job end")
		at, endedBy, upErr := cancelUp(t, ctx, stack, c.at, c.hold)
		stop()
		locks, pending := lockFiles(t, backendDir), pendingOperations(t, ctx, stack)
		t.Logf("%s: cancelled during the %s (%s); left: %s\nits output: %v", c.name, at, endedBy, leftBehind(t, ctx, stack, kube, backendDir), upErr)
		switch {
		case c.hold && (len(locks) == 0 || len(pending) == 0):
			t.Errorf("%s: locks %v, pending operations %v; want the killed CLI's lock and its pending update", c.name, locks, describe(pending))
		case !c.hold && len(locks) == 0 && len(pending) == 0 && !strings.Contains(upErr.Error(), "SIGTERM received; cancelling"):
			t.Errorf("%s: no lock, no pending operation, and the CLI did not say it was cancelling: the cancel did not land mid-update", c.name)
		}
		stop = timings.start("cancelled campaign: destroy job after the " + c.name)
		res := runDestroyJob(t, jobs, bin, workDir, stepEnv, host, false)
		stop()
		checkDestroyJobCleaned(t, ctx, stack, backendDir, "after the "+c.name, res)
		kube.waitGone(t, "namespace/locust", 2*time.Minute)
		if left := kube.ours(); len(left) > 0 {
			t.Errorf("%s: left in the API server after the destroy job: %v", c.name, left)
		}
	}
	setConfig(t, ctx, stack, map[string]string{"workers": "3"})
}

// cancelUp runs the up leg's up step (up --refresh) until a step that
// at matches starts, then cancels the job: SIGTERM to the CLI (with hold,
// the Kubernetes provider stopped first), the job's end
// jobEndAfterCancel later. It returns the step the cancel landed in, how
// the CLI ended, and the up's error, which it requires.
func cancelUp(t *testing.T, ctx context.Context, stack auto.Stack, at func(apitype.StepEventMetadata) bool, hold bool) (string, string, error) {
	t.Helper()
	ws := stack.Workspace()
	ws.SetEnvVar(runnerTrackingVar, trackingID("up"))
	defer ws.UnsetEnvVar(runnerTrackingVar)
	stream := make(chan events.EngineEvent)
	started := make(chan string, 1)
	go func() {
		for e := range stream {
			pre := e.ResourcePreEvent
			if pre == nil || pre.Planning || !at(pre.Metadata) {
				continue
			}
			select {
			case started <- fmt.Sprintf("%s of %s", pre.Metadata.Op, pre.Metadata.URN):
			default:
			}
		}
	}()
	type upResult struct {
		res auto.UpResult
		err error
	}
	upDone := make(chan upResult, 1)
	go func() {
		res, err := stack.Up(ctx, optup.Refresh(), optup.EventStreams(stream))
		upDone <- upResult{res, err}
	}()
	var step string
	select {
	case step = <-started:
	case r := <-upDone:
		t.Fatalf("the up ended (err %v) before the step to cancel in started:\n%s", r.err, r.res.StdOut)
	}
	if hold {
		// Every instance: the explicit provider and the default one.
		for _, pid := range namedJobProcesses(t, "up", "pulumi-resource") {
			syscall.Kill(pid, syscall.SIGSTOP)
		}
	}
	cli := namedJobProcesses(t, "up", "pulumi")
	if len(cli) != 1 {
		t.Fatalf("Pulumi CLIs of the up leg: %v, want one", cli)
	}
	syscall.Kill(cli[0], syscall.SIGTERM)
	time.Sleep(jobEndAfterCancel)
	var up upResult
	endedBy := fmt.Sprintf("SIGTERM to the CLI, still running %s later at the job's end", jobEndAfterCancel)
	select {
	case up = <-upDone:
		endedBy = fmt.Sprintf("SIGTERM to the CLI, which ended within %s", jobEndAfterCancel)
	default:
		endJob(t, "up")
		up = <-upDone
	}
	endJob(t, "up")
	if up.err == nil {
		t.Fatalf("the up cancelled during the %s succeeded: the cancel did not land mid-update:\n%s", step, up.res.StdOut)
	}
	return step, endedBy, up.err
}

// namedJobProcesses are the pids of the live processes of job whose
// command name (at most 15 characters in /proc) is name.
func namedJobProcesses(t *testing.T, job, name string) []int {
	t.Helper()
	var found []int
	for pid, p := range jobProcesses(t, job) {
		if p.name == name {
			found = append(found, pid)
		}
	}
	return found
}
