package locusttest

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// Browser is headless Chromium, for the checks that need Locust's web UI as
// a browser runs it: its pages are a React app (locust/webui) whose scripts
// render the forms and make the API calls, which fetching the HTML alone
// does not show.
type Browser struct {
	path string
}

// BrowserUserAgent is the part of headless Chromium's User-Agent header
// that tells its requests from a test's own.
const BrowserUserAgent = "HeadlessChrome"

// FindBrowser finds Debian's chromium. Without it the test fails where
// every real part is required (CI and .ci/run, which installs it), and is
// skipped elsewhere, saying what installs it.
func FindBrowser(t *testing.T) *Browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		const why = "no chromium on PATH, for the web UI's browser checks: apt-get install chromium (bash .ci/run deps does)"
		if required() {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return &Browser{path: path}
}

// DumpDOM loads url and returns the page's DOM once its scripts have run
// and the network has been quiet for a while (Chromium's --dump-dom after
// --virtual-time-budget, which advances only when nothing is loading).
// The flags keep Chromium to the page: no background connections, which
// this machine's closed network would refuse, no GPU, no sandbox (tests run
// as root), and a profile of its own.
func (b *Browser) DumpDOM(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = tail(string(ee.Stderr), 20)
		}
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr)
	}
	return string(out)
}
