// Package campaign reads campaign files: campaigns/<name>.yaml names a set
// of stacks (one per region, say) that run as one campaign, and each one's
// share of the users. It is the one place that parses and checks them:
// `loadtest --campaign` reads a file through it, campaign.yml's plan job
// (cmd/campaignplan) resolves a name through it, and the repository's tests
// hold the shipped files to it.
//
//	# campaigns/dev-regions.yaml
//	stacks:
//	  - stack: dev-use1
//	    share: 60
//	  - stack: dev-euw1
//	    share: 40
package campaign

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Dir is the project's folder of campaign files.
const Dir = "campaigns"

// MinStacks and MaxStacks bound a set. One stack is run by its own name.
// campaign.yml hands each up leg's runner host name to the destroy leg of
// the same stack through job outputs host-0 to host-<MaxStacks-1>, one
// per leg: a job's outputs are named in the workflow, not made by the
// matrix (docs.github.com, "Passing information between jobs", Using job
// outputs in a matrix job). A test in stackconfig holds the two equal.
const (
	MinStacks = 2
	MaxStacks = 8
)

// Member is one stack of a set.
type Member struct {
	Stack string
	// Share is the stack's weight among the set's users; 0 when the file
	// gives no shares, which means equal ones.
	Share float64
}

// Campaign is one campaign file, checked.
type Campaign struct {
	// Name is the file's name without .yaml: what campaign.yml is
	// dispatched with, its GitHub Environment and its concurrency group.
	Name string
	// File is the path the file was read from.
	File   string
	Stacks []Member
}

// Names are the set's stacks, in the file's order.
func (c Campaign) Names() []string {
	names := make([]string, len(c.Stacks))
	for i, m := range c.Stacks {
		names[i] = m.Stack
	}
	return names
}

// Problem is one mistake in a campaign file.
type Problem struct {
	// Key is where: "stacks", "stacks[1].share"; Line its line in the
	// file, 0 when the key is missing.
	Key  string
	Line int
	// Value is what the file holds there, and Allowed what it may hold.
	Value, Allowed string
}

func (p Problem) String() string {
	where := p.Key
	if p.Line > 0 {
		where += fmt.Sprintf(" (line %d)", p.Line)
	}
	return fmt.Sprintf("%s: got %s; %s", where, p.Value, p.Allowed)
}

// Error lists every mistake of one campaign file.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  - " + p.String()
	}
	return e.File + ": invalid campaign file (docs/several-stacks.md, Regions):\n" + strings.Join(lines, "\n")
}

// validName is what Pulumi allows in a stack name ("stack names may only
// contain alphanumerics, hyphens, underscores, or periods": pulumi
// sdk/go/common/tokens, ValidateStackName); it excludes the "/" of a path
// and the "+" that joins a set's stacks in its results folder.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// validStackName reports whether name is a stack name that is no path
// either: "." and ".." pass validName.
func validStackName(name string) bool {
	return validName.MatchString(name) && name != "." && name != ".."
}

// shape is how a stack entry looks, for the messages.
const shape = "`- stack: NAME`, with `share: NUMBER` on every stack or on none"

// Read reads and checks the campaign file at path. Its stacks must be
// stacks of the project whose campaigns/ folder holds the file: each a
// Pulumi.<stack>.yaml in the folder above the file's own.
func Read(path string) (Campaign, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Campaign{}, err
	}
	stacks, err := stackFiles(filepath.Dir(filepath.Dir(abs)))
	if err != nil {
		return Campaign{}, err
	}
	return read(path, stacks)
}

// read reads and checks the campaign file at path against the project's
// stacks.
func read(path string, stacks []string) (Campaign, error) {
	c := Campaign{Name: strings.TrimSuffix(filepath.Base(path), ".yaml"), File: path}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	var problems []Problem
	add := func(key string, n *yaml.Node, value, allowed string) {
		line := 0
		if n != nil {
			line = n.Line
		}
		problems = append(problems, Problem{Key: key, Line: line, Value: value, Allowed: allowed})
	}

	var list *yaml.Node
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	switch {
	// An empty file leaves the node zero; one of comments only, a
	// document with no content.
	case root.Kind == 0 || root.Kind == yaml.DocumentNode || (root.Kind == yaml.ScalarNode && root.Tag == "!!null"):
		add("stacks", nil, "an empty file", "a list of "+fmt.Sprint(MinStacks)+" to "+fmt.Sprint(MaxStacks)+" stacks, each "+shape)
	case root.Kind != yaml.MappingNode:
		add("(the file)", root, describe(root), "a mapping with one key, stacks")
	default:
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if k.Value != "stacks" {
				add(k.Value, k, "a key of its own", "the one key is stacks")
				continue
			}
			list = v
		}
		if list == nil {
			add("stacks", nil, "nothing", "a list of "+fmt.Sprint(MinStacks)+" to "+fmt.Sprint(MaxStacks)+" stacks, each "+shape)
		}
	}
	if list != nil {
		c.Stacks, problems = readStacks(list, stacks, problems)
	}
	if len(problems) > 0 {
		// In the file's order; a missing key, which has no line, last.
		line := func(p Problem) int {
			if p.Line == 0 {
				return math.MaxInt
			}
			return p.Line
		}
		slices.SortStableFunc(problems, func(a, b Problem) int { return cmp.Compare(line(a), line(b)) })
		return c, &Error{File: path, Problems: problems}
	}
	return c, nil
}

// readStacks reads the list under stacks: and adds its problems.
func readStacks(list *yaml.Node, stacks []string, problems []Problem) ([]Member, []Problem) {
	add := func(key string, n *yaml.Node, value, allowed string) {
		problems = append(problems, Problem{Key: key, Line: n.Line, Value: value, Allowed: allowed})
	}
	if list.Kind != yaml.SequenceNode {
		add("stacks", list, describe(list), "a list of stacks, each "+shape)
		return nil, problems
	}
	switch n := len(list.Content); {
	case n < MinStacks:
		add("stacks", list, fmt.Sprintf("%d stack", n), fmt.Sprintf("%d to %d: one stack is run by its own name, not as a set", MinStacks, MaxStacks))
	case n > MaxStacks:
		add("stacks", list, fmt.Sprintf("%d stacks", n), fmt.Sprintf("at most %d, the up and destroy legs campaign.yml can pair (its outputs host-0 to host-%d)", MaxStacks, MaxStacks-1))
	}
	var members []Member
	// The entries with a share and without one, by index.
	var shareGiven, shareMissing []int
	for i, item := range list.Content {
		at := fmt.Sprintf("stacks[%d]", i)
		if item.Kind != yaml.MappingNode {
			add(at, item, describe(item), "a stack, "+shape)
			continue
		}
		m := Member{}
		var nameNode, shareNode *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "stack":
				nameNode = v
			case "share":
				shareNode = v
			default:
				add(at+"."+k.Value, k, "a key of its own", "a stack has two keys, stack and share")
			}
		}
		switch {
		case nameNode == nil:
			add(at+".stack", item, "nothing", "the name of a stack of this project (a Pulumi.<stack>.yaml)")
		case nameNode.Kind != yaml.ScalarNode || !validStackName(nameNode.Value):
			add(at+".stack", nameNode, describe(nameNode), "a stack name: letters, digits, -, _ and .")
		case !slices.Contains(stacks, nameNode.Value):
			add(at+".stack", nameNode, strconv.Quote(nameNode.Value), fmt.Sprintf("a stack of this project, and there is no Pulumi.%s.yaml (the stacks: %s)", nameNode.Value, strings.Join(stacks, ", ")))
		default:
			m.Stack = nameNode.Value
			if first := slices.IndexFunc(members, func(o Member) bool { return o.Stack == m.Stack }); first >= 0 {
				add(at+".stack", nameNode, strconv.Quote(m.Stack)+" again", fmt.Sprintf("each stack once (it is stacks[%d] already)", first))
				m.Stack = ""
			}
		}
		if shareNode == nil {
			shareMissing = append(shareMissing, i)
		} else {
			shareGiven = append(shareGiven, i)
			f, err := strconv.ParseFloat(shareNode.Value, 64)
			if shareNode.Kind != yaml.ScalarNode || err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				add(at+".share", shareNode, describe(shareNode), "a number above 0, like 60: the stack's weight among the set's users")
			} else {
				m.Share = f
			}
		}
		if m.Stack != "" {
			members = append(members, m)
		}
	}
	if len(shareGiven) > 0 && len(shareMissing) > 0 {
		var without []string
		for _, i := range shareMissing {
			without = append(without, fmt.Sprintf("stacks[%d]", i))
		}
		first := shareMissing[0]
		add(fmt.Sprintf("stacks[%d].share", first), list.Content[first], fmt.Sprintf("nothing, while stacks[%d] has a share", shareGiven[0]),
			"a share on every stack, or on none for equal shares (none on "+strings.Join(without, ", ")+")")
	}
	return members, problems
}

// describe says what a node holds, for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "an alias"
}

// stackFiles are the stacks of projectDir: its Pulumi.<stack>.yaml files.
func stackFiles(projectDir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(projectDir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, err
	}
	var stacks []string
	for _, m := range matches {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml"))
	}
	slices.Sort(stacks)
	return stacks, nil
}

// All reads every campaign file of projectDir (campaigns/*.yaml; a *.yml
// file is refused as misnamed, anything else is left alone), by name, and
// checks them together: each is valid, no campaign is named like a stack, and no stack
// belongs to two sets (campaign.yml runs a set in the concurrency group of
// its name, so a stack in two sets could be brought up by both at once).
func All(projectDir string) ([]Campaign, error) {
	files, err := filepath.Glob(filepath.Join(projectDir, Dir, "*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	stacks, err := stackFiles(projectDir)
	if err != nil {
		return nil, err
	}
	var all []Campaign
	var errs []error
	owner := map[string]string{}
	for _, f := range files {
		rel := filepath.Join(Dir, filepath.Base(f))
		name, isYAML := strings.CutSuffix(filepath.Base(f), ".yaml")
		if !isYAML {
			// A .yml file is a campaign under the wrong name, which
			// campaign.yml would never find; anything else (a README, a
			// folder) is no campaign and must not stop every run.
			if strings.HasSuffix(f, ".yml") {
				errs = append(errs, fmt.Errorf("%s: a campaign file is named <name>.yaml; campaign.yml would not find this one", rel))
			}
			continue
		}
		switch {
		case !validName.MatchString(name):
			errs = append(errs, fmt.Errorf("%s: the name %q is also a GitHub Environment and a concurrency group: letters, digits, -, _ and . only", rel, name))
			continue
		case slices.Contains(stacks, name):
			errs = append(errs, fmt.Errorf("%s: a stack is named %s too (Pulumi.%s.yaml): campaign.yml could not tell which one it is given; rename the campaign", rel, name, name))
			continue
		}
		c, err := read(f, stacks)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.File = rel
		for _, s := range c.Names() {
			if other, taken := owner[s]; taken {
				errs = append(errs, fmt.Errorf("%s: stack %s is in campaign %s too: a stack belongs to one set, whose campaign holds its concurrency group", rel, s, other))
			}
			owner[s] = c.Name
		}
		all = append(all, c)
	}
	return all, errors.Join(errs...)
}

// Plan is what a campaign.yml run of a name works on.
type Plan struct {
	// Stacks are the set's stacks in its file's order, or the one stack.
	Stacks []string `json:"stacks"`
	// Campaign is the set's file, campaigns/<name>.yaml; "" for one stack.
	Campaign string `json:"campaign"`
}

// Resolve says what a campaign.yml run of name works on: the stacks of
// the set campaigns/<name>.yaml, or the stack of Pulumi.<name>.yaml alone.
// Every campaign file of projectDir must be valid (All). A stack of a set
// is refused alone: its set's runs hold another concurrency group.
func Resolve(projectDir, name string) (Plan, error) {
	if !validStackName(name) {
		return Plan{}, fmt.Errorf("%q is neither a stack nor a campaign name: letters, digits, -, _ and . only", name)
	}
	all, err := All(projectDir)
	if err != nil {
		return Plan{}, err
	}
	for _, c := range all {
		if c.Name == name {
			return Plan{Stacks: c.Names(), Campaign: c.File}, nil
		}
		if slices.Contains(c.Names(), name) {
			return Plan{}, fmt.Errorf("stack %s belongs to the set %s (%s): run the set, whose runs hold the set's concurrency group", name, c.Name, c.File)
		}
	}
	if _, err := os.Stat(filepath.Join(projectDir, "Pulumi."+name+".yaml")); err != nil {
		return Plan{}, fmt.Errorf("%s is neither a stack (no Pulumi.%s.yaml) nor a set of stacks (no %s/%s.yaml)", name, name, Dir, name)
	}
	return Plan{Stacks: []string{name}}, nil
}
