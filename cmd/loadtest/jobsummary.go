package main

import (
	"fmt"
	"os"
	"strings"
)

// maxJobSummary is what GitHub accepts in one step's job summary: "The
// maximum size of the summary for a step is 1 MiB" (docs.github.com,
// "Workflow commands for GitHub Actions", Adding a job summary). A larger
// file is not shown at all and the step is annotated with an error.
const maxJobSummary = 1 << 20

// appendJobSummary adds md to the step's summary file at path, cut at a line
// so that the file stays within maxJobSummary, and says where the whole of
// it is (summary.md in the results) when it had to cut.
func appendJobSummary(path, md, whole string) error {
	used := int64(0)
	if fi, err := os.Stat(path); err == nil {
		used = fi.Size()
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(fitJobSummary(md, maxJobSummary-int(used), whole))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// fitJobSummary returns md if it fits in room bytes, else its first lines
// and a note naming whole, together within room.
func fitJobSummary(md string, room int, whole string) string {
	if len(md) <= room {
		return md
	}
	note := fmt.Sprintf("\n\n**Cut to fit GitHub's 1 MiB job summary: the whole summary is %s.**\n", whole)
	if room <= len(note) {
		return ""
	}
	cut := md[:room-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 {
		cut = cut[:i]
	}
	return cut + note
}
