package campaign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// project writes a project folder holding Pulumi.<stack>.yaml for each of
// stacks and the campaign files of campaigns (name -> text), and returns it.
func project(t *testing.T, stacks []string, campaigns map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range stacks {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+s+".yaml"), []byte("config: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range campaigns {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, Dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// list is a campaign file's stacks: list of n stacks s0, s1, ...
func list(n int) string {
	var b strings.Builder
	b.WriteString("stacks:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - stack: s%d\n", i)
	}
	return b.String()
}

// TestRead: a valid file gives its stacks and shares in its order; every
// mistake is refused with the file, the key, its line, the value and what
// is allowed, all of a file's mistakes at once.
func TestRead(t *testing.T) {
	stacks := []string{"dev-euw1", "dev-use1", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}
	known := strings.Join(stacks, ", ")
	for _, tc := range []struct {
		name, text string
		want       []Member
		// problems are the error's lines after the file's, in order.
		problems []string
	}{
		{name: "shares", text: "stacks:\n  - stack: dev-use1\n    share: 60\n  - stack: dev-euw1\n    share: 40\n",
			want: []Member{{"dev-use1", 60}, {"dev-euw1", 40}}},
		{name: "no shares: equal", text: "# two regions\nstacks:\n  - {stack: dev-euw1}\n  - {stack: dev-use1}\n",
			want: []Member{{"dev-euw1", 0}, {"dev-use1", 0}}},
		{name: "fractional shares", text: "stacks:\n  - stack: s0\n    share: 0.5\n  - stack: s1\n    share: 1.5\n",
			want: []Member{{"s0", 0.5}, {"s1", 1.5}}},
		{name: "the most stacks", text: list(MaxStacks), want: []Member{{"s0", 0}, {"s1", 0}, {"s2", 0}, {"s3", 0}, {"s4", 0}, {"s5", 0}, {"s6", 0}, {"s7", 0}}},
		{name: "unknown stack", text: "stacks:\n  - stack: dev-use1\n  - stack: dev-usw2\n",
			problems: []string{`stacks[1].stack (line 3): got "dev-usw2"; a stack of this project, and there is no Pulumi.dev-usw2.yaml (the stacks: ` + known + `)`}},
		{name: "a stack twice", text: "stacks:\n  - stack: dev-use1\n  - stack: dev-euw1\n  - stack: dev-use1\n",
			problems: []string{`stacks[2].stack (line 4): got "dev-use1" again; each stack once (it is stacks[0] already)`}},
		{name: "shares on some only", text: "stacks:\n  - stack: s0\n    share: 60\n  - stack: s1\n  - stack: s2\n",
			problems: []string{"stacks[1].share (line 4): got nothing, while stacks[0] has a share; a share on every stack, or on none for equal shares (none on stacks[1], stacks[2])"}},
		{name: "share 0", text: "stacks:\n  - stack: s0\n    share: 0\n  - stack: s1\n    share: 1\n",
			problems: []string{`stacks[0].share (line 3): got "0"; a number above 0, like 60: the stack's weight among the set's users`}},
		{name: "share below 0", text: "stacks:\n  - stack: s0\n    share: 1\n  - stack: s1\n    share: -5\n",
			problems: []string{`stacks[1].share (line 5): got "-5"; a number above 0, like 60: the stack's weight among the set's users`}},
		{name: "share not a number", text: "stacks:\n  - stack: s0\n    share: most\n  - stack: s1\n    share: 1\n",
			problems: []string{`stacks[0].share (line 3): got "most"; a number above 0, like 60: the stack's weight among the set's users`}},
		{name: "share infinite", text: "stacks:\n  - stack: s0\n    share: .inf\n  - stack: s1\n    share: 1\n",
			problems: []string{`stacks[0].share (line 3): got ".inf"; a number above 0, like 60: the stack's weight among the set's users`}},
		{name: "share a list", text: "stacks:\n  - stack: s0\n    share: [60]\n  - stack: s1\n    share: 1\n",
			problems: []string{`stacks[0].share (line 3): got a list; a number above 0, like 60: the stack's weight among the set's users`}},
		{name: "one stack", text: list(1),
			problems: []string{"stacks (line 2): got 1 stack; 2 to 8: one stack is run by its own name, not as a set"}},
		{name: "too many stacks", text: list(MaxStacks + 1),
			problems: []string{"stacks (line 2): got 9 stacks; at most 8, the up and destroy legs campaign.yml can pair (its outputs host-0 to host-7)"}},
		{name: "unknown key", text: "stacks:\n  - stack: s0\n  - stack: s1\nusers: 100\n",
			problems: []string{"users (line 4): got a key of its own; the one key is stacks"}},
		{name: "unknown key of a stack", text: "stacks:\n  - stack: s0\n    region: us-east-1\n  - stack: s1\n",
			problems: []string{"stacks[0].region (line 3): got a key of its own; a stack has two keys, stack and share"}},
		{name: "empty file", text: "",
			problems: []string{"stacks: got an empty file; a list of 2 to 8 stacks, each `- stack: NAME`, with `share: NUMBER` on every stack or on none"}},
		{name: "comments only", text: "# nothing yet\n",
			problems: []string{"stacks: got an empty file; a list of 2 to 8 stacks, each `- stack: NAME`, with `share: NUMBER` on every stack or on none"}},
		{name: "no stacks key", text: "name: regions\n",
			problems: []string{"name (line 1): got a key of its own; the one key is stacks",
				"stacks: got nothing; a list of 2 to 8 stacks, each `- stack: NAME`, with `share: NUMBER` on every stack or on none"}},
		{name: "a list at the top", text: "- stack: s0\n- stack: s1\n",
			problems: []string{"(the file) (line 1): got a list; a mapping with one key, stacks"}},
		{name: "stacks not a list", text: "stacks: s0, s1\n",
			problems: []string{"stacks (line 1): got \"s0, s1\"; a list of stacks, each `- stack: NAME`, with `share: NUMBER` on every stack or on none"}},
		{name: "a stack given as a name", text: "stacks:\n  - s0\n  - stack: s1\n",
			problems: []string{"stacks[0] (line 2): got \"s0\"; a stack, `- stack: NAME`, with `share: NUMBER` on every stack or on none"}},
		{name: "a stack without its name", text: "stacks:\n  - share: 1\n  - stack: s1\n    share: 1\n",
			problems: []string{"stacks[0].stack (line 2): got nothing; the name of a stack of this project (a Pulumi.<stack>.yaml)"}},
		{name: "a path for a name", text: "stacks:\n  - stack: ../s0\n  - stack: s1\n",
			problems: []string{`stacks[0].stack (line 2): got "../s0"; a stack name: letters, digits, -, _ and .`}},
		{name: "every mistake at once", text: "stacks:\n  - stack: s0\n    share: 0\n  - stack: nope\n    share: 1\nextra: true\n",
			problems: []string{
				`stacks[0].share (line 3): got "0"; a number above 0, like 60: the stack's weight among the set's users`,
				`stacks[1].stack (line 4): got "nope"; a stack of this project, and there is no Pulumi.nope.yaml (the stacks: ` + known + `)`,
				"extra (line 6): got a key of its own; the one key is stacks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, stacks, map[string]string{"set.yaml": tc.text})
			path := filepath.Join(dir, Dir, "set.yaml")
			c, err := Read(path)
			if tc.problems == nil {
				if err != nil || c.Name != "set" || !reflect.DeepEqual(c.Stacks, tc.want) {
					t.Fatalf("Read: %+v, %v; want the stacks %+v", c, err, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Read: %v; want the file's problems %q", err, tc.problems)
			}
			var got []string
			for _, p := range e.Problems {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tc.problems) {
				t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.problems, "\n"))
			}
			if !strings.HasPrefix(err.Error(), path+": invalid campaign file") {
				t.Errorf("the error does not start with the file: %v", err)
			}
		})
	}
}

// TestReadNamesTheFile: a file that cannot be read, or is no YAML, is
// named too.
func TestReadNamesTheFile(t *testing.T) {
	dir := project(t, []string{"s0", "s1"}, map[string]string{"bad.yaml": "stacks: [\n"})
	for _, path := range []string{filepath.Join(dir, Dir, "bad.yaml"), filepath.Join(dir, Dir, "missing.yaml")} {
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Read(%s): %v; want an error naming the file", path, err)
		}
	}
}

// TestResolve: a name is a set's stacks or one stack; a stack of a set is
// refused alone, as are a name that is neither and a campaign named like a
// stack; a stack in two sets, or a campaign file campaign.yml would not
// find (.yml), make every name fail, naming the file; a README or a folder
// in campaigns/ is left alone.
func TestResolve(t *testing.T) {
	regions := "stacks:\n  - stack: use1\n    share: 60\n  - stack: euw1\n    share: 40\n"
	stacks := []string{"dev", "use1", "euw1", "aps1"}
	for _, tc := range []struct {
		name      string
		campaigns map[string]string
		resolve   string
		want      Plan
		err       string
	}{
		{name: "a set", campaigns: map[string]string{"regions.yaml": regions}, resolve: "regions",
			want: Plan{Stacks: []string{"use1", "euw1"}, Campaign: "campaigns/regions.yaml"}},
		{name: "one stack", campaigns: map[string]string{"regions.yaml": regions}, resolve: "dev", want: Plan{Stacks: []string{"dev"}}},
		{name: "one stack, no campaigns", resolve: "aps1", want: Plan{Stacks: []string{"aps1"}}},
		{name: "a stack of a set alone", campaigns: map[string]string{"regions.yaml": regions}, resolve: "euw1",
			err: "stack euw1 belongs to the set regions (campaigns/regions.yaml): run the set"},
		{name: "neither", resolve: "staging", err: "staging is neither a stack (no Pulumi.staging.yaml) nor a set of stacks (no campaigns/staging.yaml)"},
		{name: "a path", resolve: "../dev", err: `"../dev" is neither a stack nor a campaign name`},
		{name: "a campaign named like a stack", campaigns: map[string]string{"dev.yaml": regions}, resolve: "dev",
			err: "campaigns/dev.yaml: a stack is named dev too (Pulumi.dev.yaml)"},
		{name: "a stack in two sets", campaigns: map[string]string{"regions.yaml": regions, "west.yaml": "stacks:\n  - stack: euw1\n  - stack: aps1\n"}, resolve: "dev",
			err: "campaigns/west.yaml: stack euw1 is in campaign regions too"},
		{name: "a file not named .yaml", campaigns: map[string]string{"regions.yml": regions}, resolve: "dev",
			err: "campaigns/regions.yml: a campaign file is named <name>.yaml"},
		{name: "a README and a folder beside the campaigns", campaigns: map[string]string{"regions.yaml": regions, "README.md": "# sets\n", "old/regions.yaml": regions},
			resolve: "dev", want: Plan{Stacks: []string{"dev"}}},
		{name: "an invalid file elsewhere", campaigns: map[string]string{"regions.yaml": regions, "west.yaml": list(1)}, resolve: "regions",
			err: "campaigns/west.yaml: invalid campaign file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, stacks, tc.campaigns)
			got, err := Resolve(dir, tc.resolve)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Resolve(%s): %+v, %v; want an error holding %q", tc.resolve, got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve(%s): %+v, %v; want %+v", tc.resolve, got, err, tc.want)
			}
		})
	}
}
