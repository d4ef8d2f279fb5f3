package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCampaignFlag: --campaign FILE stands for one --stack NAME=SHARE per
// stack of the file, in its order (internal/campaign reads and checks it;
// its own tests hold every refusal of a file); it is refused beside
// --stack, and a file that is missing or invalid is named in the error.
func TestCampaignFlag(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"use1", "euw1", "aps1"} {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+s+".yaml"), []byte("config: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "campaigns"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"shares.yaml":  "stacks:\n  - stack: use1\n    share: 60\n  - stack: euw1\n    share: 40\n",
		"equal.yaml":   "stacks:\n  - stack: aps1\n  - stack: use1\n  - stack: euw1\n",
		"unknown.yaml": "stacks:\n  - stack: use1\n  - stack: usw2\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, "campaigns", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := func(name string) string { return filepath.Join(dir, "campaigns", name) }
	for _, tc := range []struct {
		name      string
		args      []string
		stacks    stackList
		stack     string
		masterURL string
		err       string // contained; "" for none
	}{
		{name: "stacks and shares", args: []string{"--campaign", file("shares.yaml")},
			stacks: stackList{{"use1", 60}, {"euw1", 40}}, stack: "use1+euw1"},
		{name: "no shares: equal", args: []string{"--campaign", file("equal.yaml")},
			stacks: stackList{{"aps1", 0}, {"use1", 0}, {"euw1", 0}}, stack: "aps1+use1+euw1"},
		{name: "a master URL per stack", args: []string{"--campaign", file("shares.yaml"), "--master-url", "http://127.0.0.1:1", "--master-url", "http://127.0.0.1:2"},
			stacks: stackList{{"use1", 60}, {"euw1", 40}}, stack: "use1+euw1", masterURL: "http://127.0.0.1:1"},
		{name: "with --stack", args: []string{"--stack", "use1", "--campaign", file("shares.yaml")},
			err: "--campaign " + file("shares.yaml") + " and --stack use1: give the set's file or the stacks, not both"},
		{name: "a master URL short", args: []string{"--campaign", file("shares.yaml"), "--master-url", "http://127.0.0.1:1"},
			err: "1 --master-url for 2 --stack"},
		{name: "an unknown stack", args: []string{"--campaign", file("unknown.yaml")},
			err: "--campaign: " + file("unknown.yaml") + ": invalid campaign file (docs/several-stacks.md, Regions):\n  - stacks[1].stack (line 3): got \"usw2\"; a stack of this project, and there is no Pulumi.usw2.yaml (the stacks: aps1, euw1, use1)"},
		{name: "a missing file", args: []string{"--campaign", file("missing.yaml")}, err: "--campaign: open " + file("missing.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(o.stacks, tc.stacks) || o.stack != tc.stack || o.masterURL != tc.masterURL {
				t.Errorf("stacks %v, stack %q, master URL %q, error %v; want %v, %q, %q", o.stacks, o.stack, o.masterURL, err, tc.stacks, tc.stack, tc.masterURL)
			}
		})
	}
}
