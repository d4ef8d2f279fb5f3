package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/locust-eks/locust-on-eks/internal/stackoutputs"
)

// A stack of several shards (its `shards` config) has a master per shard,
// each with its own workers and Service. --stack NAME on such a stack runs
// one test across its masters, as several stacks run (several.go): each
// shard is a member of the test, named NAME/shard-I.

// stackRead is one --stack and what its outputs say, read once before
// anything connects: they tell how many masters the stack has.
type stackRead struct {
	stackShare
	// masterURL is the stack's --master-url; "" for a port-forward.
	masterURL string
	// out are the stack's outputs, when hasOutputs: read, and taken for
	// the flags not given.
	out        stackoutputs.Outputs
	hasOutputs bool
}

// readStacks reads every --stack's outputs once, with --stack-outputs.
// Outputs that cannot be read are an error only when they were to tell
// where the master is.
func readStacks(ctx context.Context, o options, stdout, stderr io.Writer) ([]stackRead, error) {
	var stacks []stackRead
	for i, s := range o.stacks {
		r := stackRead{stackShare: s}
		if len(o.masterURLs) > 0 {
			r.masterURL = o.masterURLs[i]
		}
		if o.outputs {
			out, err := readOutputs(ctx, s.name)
			switch {
			case err != nil && r.masterURL == "":
				return nil, fmt.Errorf("stack %s: the stack's outputs tell where the master is, and they cannot be read: %v (or pass --master-url)", s.name, err)
			case err != nil:
				fmt.Fprintf(stderr, "loadtest: stack %s: not using the stack's outputs (the flags and their defaults decide): %v\n", s.name, err)
			default:
				r.out, r.hasOutputs = out, true
				fmt.Fprintf(stdout, "stack %s: %d workers; defaults from its loadTest output\n", s.name, out.Workers)
				if masters := out.Masters(); len(masters) > 1 {
					fmt.Fprintf(stdout, "stack %s: %d shards, %s: one test across their masters\n", s.name, len(masters), describeMasters(masters))
				}
			}
		}
		stacks = append(stacks, r)
	}
	return stacks, nil
}

// member is one master of a test: a stack's, or one shard's of a stack of
// several.
type member struct {
	// name is the stack's, or NAME/shard-I for shard I of a stack of
	// several: its row in the result and its folder.
	name string
	// stack is the index of its stack among the --stack flags.
	stack int
	// service is the master Service a port-forward reaches it through:
	// "" when --master-url says where the master is, or the flags decide.
	service string
	// workers are the workers its outputs expect on it; 0 when the stack's
	// outputs are not used.
	workers int
	// share is its weight among the members' users (splitUsers).
	share float64
}

// testMembers lists the masters of a test, in the order of the --stack
// flags, each stack's shards in its order, shard 0 first. A stack's share
// (1 when --stack gave none: equal shares) is split among its shards in
// proportion to their workers. A stack of several shards reached through
// --master-url is refused: one URL reaches one master, which holds only
// its own shard's workers.
func testMembers(stacks []stackRead) ([]member, error) {
	var members []member
	for i, s := range stacks {
		weight := s.share
		if weight == 0 {
			weight = 1
		}
		if !s.hasOutputs {
			members = append(members, member{name: s.name, stack: i, share: weight})
			continue
		}
		masters := s.out.Masters()
		if len(masters) == 1 {
			m := member{name: s.name, stack: i, workers: s.out.Workers, share: weight}
			if s.masterURL == "" {
				m.service = masters[0].Service
			}
			members = append(members, m)
			continue
		}
		if s.masterURL != "" {
			return nil, fmt.Errorf("stack %s has %d shards, %s: one --master-url reaches one of them; leave out --master-url and loadtest port-forwards to every shard's master Service",
				s.name, len(masters), describeMasters(masters))
		}
		total := 0
		for _, m := range masters {
			total += m.Workers
		}
		for shard, m := range masters {
			// Outputs are refused with a shard of no workers
			// (stackconfig: at least one per shard); equal shares then.
			part := 1 / float64(len(masters))
			if total > 0 {
				part = float64(m.Workers) / float64(total)
			}
			members = append(members, member{name: fmt.Sprintf("%s/shard-%d", s.name, shard), stack: i,
				service: m.Service, workers: m.Workers, share: weight * part})
		}
	}
	return members, nil
}

// describeMasters names each shard's master Service and its workers.
func describeMasters(masters []stackoutputs.Master) string {
	var each []string
	for _, m := range masters {
		each = append(each, fmt.Sprintf("service/%s (%d workers)", m.Service, m.Workers))
	}
	return strings.Join(each, ", ")
}
