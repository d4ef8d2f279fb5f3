// Package docs holds the manual, one Markdown page per topic; README.md is
// the map into it. The package's only Go file is this test, which keeps the
// map and the pages linked: a moved section or a renamed file fails here, not
// in a reader's browser.
package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// maxReadmeLines keeps README.md a map (#31): what this is, the two commands,
// a first test, the cost, where to go next. The manual belongs in docs/.
const maxReadmeLines = 200

// markdownLink matches [text](target) and [text](target "title"); images too.
var markdownLink = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// page is one Markdown file as a reader sees it: its links outside code,
// and the anchors GitHub gives its headings.
type page struct {
	path    string
	links   []string
	anchors map[string]bool
}

// shown names a file from the repository's root, as a reader finds it.
func shown(path string) string {
	if rest, ok := strings.CutPrefix(filepath.ToSlash(path), "../"); ok {
		return rest
	}
	return "docs/" + filepath.ToSlash(path)
}

func readPage(t *testing.T, path string) page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := page{path: path, anchors: map[string]bool{}}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if level := len(line) - len(strings.TrimLeft(line, "#")); level > 0 && level <= 6 && strings.HasPrefix(line[level:], " ") {
			slug := headingSlug(line[level+1:])
			// GitHub numbers repeated headings: x, x-1, x-2.
			if n := seen[slug]; n > 0 {
				p.anchors[fmt.Sprintf("%s-%d", slug, n)] = true
			} else {
				p.anchors[slug] = true
			}
			seen[slug]++
		}
		for _, m := range markdownLink.FindAllStringSubmatch(withoutInlineCode(line), -1) {
			p.links = append(p.links, m[1])
		}
	}
	return p
}

// withoutInlineCode drops `code spans`, where brackets are not links.
func withoutInlineCode(line string) string {
	parts := strings.Split(line, "`")
	var kept []string
	for i, part := range parts {
		if i%2 == 0 {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "")
}

// headingSlug is GitHub's anchor for a heading: lower case, punctuation
// dropped (letters, digits, marks, '_', '-' and spaces stay), spaces to '-'.
func headingSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestHeadingSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Run a load test", "run-a-load-test"},
		{"Nodes, disruption and network", "nodes-disruption-and-network"},
		{"End-to-end test: `pulumi up` and `pulumi destroy` for real", "end-to-end-test-pulumi-up-and-pulumi-destroy-for-real"},
		{"Locust on Kubernetes: recovery", "locust-on-kubernetes-recovery"},
		{"Throughput: what distribution costs", "throughput-what-distribution-costs"},
	} {
		if got := headingSlug(tc.heading); got != tc.want {
			t.Errorf("headingSlug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// TestLinksResolve follows every relative link of README.md and docs/ to its
// file, and every #anchor to a heading of that file.
func TestLinksResolve(t *testing.T) {
	paths, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	paths = append([]string{"../README.md"}, paths...)
	pages := map[string]page{}
	for _, path := range paths {
		pages[filepath.Clean(path)] = readPage(t, path)
	}
	checked := 0
	for _, path := range paths {
		p := pages[filepath.Clean(path)]
		for _, link := range p.links {
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			checked++
			file, anchor, _ := strings.Cut(link, "#")
			target := filepath.Clean(filepath.Join(filepath.Dir(path), file))
			if file == "" {
				target = filepath.Clean(path)
			} else if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s: no such file or folder", shown(path), link)
				continue
			}
			if anchor == "" {
				continue
			}
			to, ok := pages[target]
			if !ok {
				if !strings.HasSuffix(target, ".md") {
					t.Errorf("%s links to %s: an anchor into a file that is not Markdown", shown(path), link)
					continue
				}
				to = readPage(t, target)
				pages[target] = to
			}
			if !to.anchors[anchor] {
				t.Errorf("%s links to %s: %s has no heading whose anchor is #%s", shown(path), link, shown(target), anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no relative link at all: the link reader is broken")
	}
}

// TestReadmeIsAMap keeps README.md short and every page of docs/ reachable
// from it.
func TestReadmeIsAMap(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > maxReadmeLines {
		t.Errorf("README.md has %d lines, more than %d: move the detail to a page of docs/ and link it", n, maxReadmeLines)
	}
	readme := readPage(t, "../README.md")
	var linked []string
	for _, link := range readme.links {
		file, _, _ := strings.Cut(link, "#")
		linked = append(linked, filepath.Clean(file))
	}
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		if !slices.Contains(linked, filepath.Join("docs", doc)) {
			t.Errorf("docs/%s is linked from nowhere in README.md: add it to \"Where to go next\"", doc)
		}
	}
}
