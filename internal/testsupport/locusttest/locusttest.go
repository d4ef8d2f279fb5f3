// Package locusttest runs real Locust processes for tests, on every Locust
// version this machine provides: Debian 12's python3-locust 2.12.1 (what
// .ci/run installs), Debian 13's 2.24.0 and Debian unstable's 2.46.7, the
// Locust of the image the pods run (root folders that tools/locust-debian.sh
// builds into bin/). The first two print an empty version string as Debian
// packs them, and a master with an empty version rejects its workers; the
// harness puts the version back. It starts masters and workers
// with their output kept, and reads what a master logs.
//
// A test names the behaviour it checks and calls Each, which runs it once
// per version, as a subtest named by the version, the versions at once
// (EachInTurn where they share something); where versions differ, the test
// asserts each version's own behaviour (AtLeast). go test -short skips
// the tests that call Each (SkipUnderShort).
//
// This is test support: nothing outside tests imports it.
package locusttest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
)

// Locust is a Locust installation these tests can start.
type Locust struct {
	// Python runs Locust as `Python -m locust`.
	Python string
	// Env holds PYTHONPATH for the private copy, when one was needed.
	Env []string
	// Version is Locust's version, like "2.12.1".
	Version string
}

// installation is one Locust version the suite runs on, and how to find it.
type installation struct {
	version string // what it must report
	origin  string // where it comes from, for messages
	setUp   string // what provides it on a fresh machine
	find    func() (*Locust, error)
}

// installations are the versions the suite runs on, oldest first. Each is
// needed: under CI a missing one fails the tests that start Locust.
var installations = []installation{
	{
		version: "2.12.1", origin: "Debian 12's python3-locust",
		setUp: "apt-get install python3-locust (bash .ci/run deps does)",
		find:  findDebian12,
	},
	{
		version: "2.24.0", origin: "Debian 13's python3-locust, in a root folder",
		setUp: "tools/locust-debian.sh trixie 2.24.0 bin/locust-debian13 (bash .ci/run tools does), or set LOCUST_EKS_DEBIAN13 to such a folder",
		find:  func() (*Locust, error) { return findDebianRoot("LOCUST_EKS_DEBIAN13", "locust-debian13") },
	},
	{
		version: "2.46.7", origin: "Debian unstable's python3-locust, in a root folder",
		setUp: "tools/locust-debian.sh sid 2.46.7 bin/locust-debian-sid (bash .ci/run tools does), or set LOCUST_EKS_DEBIAN_SID to such a folder",
		find:  func() (*Locust, error) { return findDebianRoot("LOCUST_EKS_DEBIAN_SID", "locust-debian-sid") },
	},
}

// SuiteVersions are the versions the suite runs on, oldest first, whether
// or not this machine has them.
func SuiteVersions() []string {
	var out []string
	for _, in := range installations {
		out = append(out, in.version)
	}
	return out
}

var (
	once       sync.Once
	found      []*Locust
	missing    []string // why each absent version is absent
	privateDir string
)

// Versions are the Locust versions this machine provides, oldest first, and
// a sentence for each one it lacks.
func Versions() (have []*Locust, lacking []string) {
	once.Do(func() {
		for _, in := range installations {
			l, err := in.find()
			switch {
			case err != nil:
				missing = append(missing, fmt.Sprintf("Locust %s (%s) is not available: %v; %s", in.version, in.origin, err, in.setUp))
			case l.Version != in.version:
				missing = append(missing, fmt.Sprintf("%s is Locust %q here, not %s; the suite is written for %s", in.origin, l.Version, in.version, in.version))
			default:
				found = append(found, l)
			}
		}
	})
	return found, missing
}

// Each runs f once per Locust version, as subtests named like
// "locust-2.12.1", all at once: each subtest calls t.Parallel, so the
// versions' runs, which mostly wait on Locust's own clock, overlap with each
// other and with the other parallel tests, as many at a time as go test's
// -parallel flag lets run. f must share nothing mutable between versions,
// and cannot use t.Setenv or t.Chdir (the parent test may, before it calls
// Each: its subtests run while it waits, before its cleanup). A version this
// machine lacks fails the test where every version is required (CI, and
// .ci/run: see required), and is skipped elsewhere, saying why and what
// installs it. Under go test -short the test is skipped: see SkipUnderShort.
func Each(t *testing.T, f func(t *testing.T, l *Locust)) {
	t.Helper()
	SkipUnderShort(t)
	for _, l := range available(t) {
		t.Run("locust-"+l.Version, func(t *testing.T) {
			t.Parallel()
			f(t, l)
		})
	}
}

// EachInTurn is Each with the versions one after the other, each finished
// before the next starts and all before EachInTurn returns: for a test
// whose versions share one thing that holds one run at a time (the
// end-to-end test's single master pod and its port-forward), or that goes
// on with other steps afterwards. It runs under -short too: such a test is
// either quick or skipped for other reasons there.
func EachInTurn(t *testing.T, f func(t *testing.T, l *Locust)) {
	t.Helper()
	for _, l := range available(t) {
		t.Run("locust-"+l.Version, func(t *testing.T) { f(t, l) })
	}
}

// available are the Locust versions a test runs on. It fails the test for
// each missing version where all are required, and skips it where none is
// here.
func available(t *testing.T) []*Locust {
	t.Helper()
	have, lacking := Versions()
	for _, why := range lacking {
		if required() {
			t.Error(why)
		} else {
			t.Log("skipped: " + why)
		}
	}
	if len(have) == 0 && len(lacking) > 0 && !required() {
		t.Skip("no Locust version is available here")
	}
	return have
}

// SkipUnderShort skips t under go test -short, the developer's quick loop:
// a test that runs a Locust master and workers takes seconds to a minute
// per version, and such tests together take minutes. Where every
// version is required (CI, .ci/run), -short is refused instead: those runs
// must run every test, and a skip there would pass unseen.
func SkipUnderShort(t *testing.T) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if required() {
		t.Fatal("go test -short skips the tests that run real Locust, and every one must run where all Locust versions are required (CI or LOCUST_EKS_REQUIRE_ALL_VERSIONS set): drop -short")
	}
	t.Skip("-short: this test runs a real Locust master and workers; go test without -short runs it")
}

// required reports whether every Locust version must be there: in CI (CI
// set, as GitHub Actions and this project's CI set it) and under .ci/run,
// which sets LOCUST_EKS_REQUIRE_ALL_VERSIONS because it installs them all.
func required() bool {
	return os.Getenv("CI") != "" || os.Getenv("LOCUST_EKS_REQUIRE_ALL_VERSIONS") != ""
}

// findDebian12 finds Debian's python3-locust: it lives in
// /usr/lib/python3/dist-packages, which only Debian's /usr/bin/python3
// sees.
func findDebian12() (*Locust, error) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		return nil, err
	}
	dir, version, err := importLocust(python)
	if err != nil {
		return nil, err
	}
	l := &Locust{Python: python, Version: version}
	if version == "" {
		if err := l.privateCopy(dir); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// findDebianRoot finds the launcher tools/locust-debian.sh writes, in the
// folder $envVar names or else bin/<folder> of this module. The build puts
// the version in place; no private copy is needed.
func findDebianRoot(envVar, folder string) (*Locust, error) {
	dir := os.Getenv(envVar)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, "bin", folder)
	}
	python := filepath.Join(dir, "python3")
	if _, err := os.Stat(python); err != nil {
		return nil, err
	}
	_, version, err := importLocust(python)
	if err != nil {
		return nil, err
	}
	return &Locust{Python: python, Version: version}, nil
}

// importLocust asks python where its locust package is and what version it
// reports.
func importLocust(python string) (dir, version string, err error) {
	var stderr bytes.Buffer
	cmd := exec.Command(python, "-c", "import locust, os; print(os.path.dirname(locust.__file__)); print(locust.__version__)")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("%s cannot import locust: %v: %s", python, err, tail(stderr.String(), 3))
	}
	dir, version, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return dir, strings.TrimSpace(version), nil
}

// moduleRoot is the folder of this module's go.mod, found upwards from the
// test's working directory (its package folder).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/locust-eks/locust-on-eks\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/locust-eks/locust-on-eks above the working directory")
		}
		dir = parent
	}
}

// privateCopy works around Debian's python3-locust 2.12.1, which reports an
// empty Version string (its _version.py is generated at release time and
// Debian's build leaves it blank). A master with an empty version takes every
// worker for a "pre 2.0" one and rejects it, so distributed runs never
// start. The copy, on PYTHONPATH, carries the package's real version; the
// system package is left as it is.
func (l *Locust) privateCopy(pkgDir string) error {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "python3-locust").Output()
	if err != nil {
		return fmt.Errorf("locust reports no version and dpkg-query cannot tell it either: %v", err)
	}
	version := string(out)
	if _, after, ok := strings.Cut(version, ":"); ok { // epoch
		version = after
	}
	version, _, _ = strings.Cut(version, "-") // Debian revision
	if privateDir, err = os.MkdirTemp("", "locust-private-"); err != nil {
		return err
	}
	dest := filepath.Join(privateDir, "locust")
	if err := os.CopyFS(dest, os.DirFS(pkgDir)); err != nil {
		return fmt.Errorf("copying %s: %w", pkgDir, err)
	}
	if err := os.WriteFile(filepath.Join(dest, "_version.py"), []byte(fmt.Sprintf("version = %q\n", version)), 0o644); err != nil {
		return err
	}
	l.Env = []string{"PYTHONPATH=" + privateDir}
	l.Version = version
	return nil
}

// AtLeast reports whether the Locust version is major.minor or newer.
func (l *Locust) AtLeast(major, minor int) bool {
	parts := strings.SplitN(l.Version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma > major || (ma == major && mi >= minor)
}

// FreePort is a TCP port on 127.0.0.1 that nothing listens on now, and
// that FreePort has not handed out before in this process: tests run in
// parallel, and a port handed out stays free until its Locust process binds
// it, a second or so later.
//
// The port is taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), from which it picks the local port of
// every outgoing connection and of every listen on port 0: a kubectl
// port-forward or an HTTP client opened in that second could otherwise take
// the very port before Locust binds it, as the end-to-end test's shards
// step once saw. kwokctl picks its control plane's ports counting down from
// just below the ephemeral range, so the range here stops short of it.
func FreePort(t *testing.T) int {
	t.Helper()
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	low, high := portRange()
	for range 1000 {
		port := low + rand.IntN(high-low)
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // in use
		}
		l.Close()
		handedOut.ports[port] = true
		return port
	}
	t.Fatalf("no free port on 127.0.0.1 in %d-%d after 1000 tries", low, high-1)
	return 0
}

// portRange is where FreePort picks: [low, high), ports 12000 to 29999,
// cut below the kernel's ephemeral range where a machine starts it lower
// than Linux's default of 32768.
func portRange() (low, high int) {
	low, high = 12000, 30000
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first-2768 < high {
		high = max(first-2768, low+1000)
	}
	return low, high
}

// handedOut are the ports FreePort has returned.
var handedOut = struct {
	mu    sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// Process is one running Locust process, its output kept in a file.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// Start starts argv with env in a clean environment, its output kept in a
// file; the test kills it at the end if it still runs.
func Start(t *testing.T, l *Locust, name string, argv, env []string) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// A clean environment: the container's variables only, plus what Python
	// needs. No LOCUST_* from the machine running the tests leaks in.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PYTHONDONTWRITEBYTECODE=1"}, l.Env...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{Name: name, Cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, tail(p.Output(), 40))
		}
	})
	return p
}

// Wait waits for the process to exit by itself until the deadline.
func (p *Process) Wait(t *testing.T, deadline time.Time) (exitCode int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Until(deadline)):
		t.Fatalf("%s still running at the deadline; it should have exited by itself", p.Name)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Output is what the process wrote so far.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readyWorker is the line a master logs for a worker that joined:
// "Client 'id' reported as ready" (runners.py@2.12.1), "Worker id (index
// n) reported as ready" (@2.24.0:1029), "id (index n) reported as ready"
// right after the logger's ": " (@2.46.3:1046).
var readyWorker = regexp.MustCompile(`(?:(?:Worker|Client) '?|: )([^ ']+)'? (?:\(index \d+\) )?reported as ready`)

// ReadyWorkers are the distinct workers the master reported as ready. The
// master may log the same worker more than once, from its retried handshakes.
func ReadyWorkers(masterLog string) []string {
	var ids []string
	for _, m := range readyWorker.FindAllStringSubmatch(masterLog, -1) {
		if !slices.Contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t *testing.T, deadline time.Time, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Localize turns a rendered Locust container into a local command. Only what
// cannot hold outside a cluster changes: the image's locust becomes l's, the
// locustfiles mount becomes dir, each Service port in ports becomes its local
// port, and the master's Service address becomes 127.0.0.1.
func Localize(c k8sobject.Container, l *Locust, dir string, ports map[int]int, masterAddress string) (argv, env []string, err error) {
	if len(c.Command) == 0 || c.Command[0] != "locust" {
		return nil, nil, fmt.Errorf("%s command is %v; only the image's locust can run here", c.Name, c.Command)
	}
	argv = append([]string{l.Python, "-m", "locust"}, c.Command[1:]...)
	mount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == "locustfiles" {
			mount = m.MountPath
		}
	}
	for _, a := range c.Args {
		a = strings.ReplaceAll(a, mount+"/", dir+"/")
		for port, local := range ports {
			if p := "=" + strconv.Itoa(port); strings.HasSuffix(a, p) {
				a = strings.TrimSuffix(a, p) + "=" + strconv.Itoa(local)
			}
		}
		argv = append(argv, a)
	}
	for _, e := range c.Env {
		if e.Value == masterAddress {
			e.Value = "127.0.0.1"
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return argv, env, nil
}

// Mount writes a ConfigMap's data into a new folder, as the pods see it
// mounted, and returns the folder.
func Mount(t *testing.T, data map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Cleanup removes the private copy of Locust; call it from TestMain after
// the tests ran.
func Cleanup() {
	if privateDir != "" {
		os.RemoveAll(privateDir)
	}
}
