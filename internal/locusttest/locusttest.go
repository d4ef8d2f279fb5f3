// Package locusttest runs real Locust processes for tests: it finds a
// Locust installation (Debian's python3-locust, as .ci/run installs it,
// with the version its build leaves out put back in a private copy), starts
// masters and workers with their output kept, and reads what a master logs.
//
// This is test support: nothing outside tests imports it.
package locusttest

import (
	"fmt"
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

	"github.com/locust-eks/locust-on-eks/internal/k8sobject"
)

// locust is a Locust installation these tests can start.
type Locust struct {
	// Python runs Locust as `Python -m locust`.
	Python string
	// Env holds PYTHONPATH for the private copy, when one was needed.
	Env []string
	// Version is Locust's version, like "2.12.1".
	Version string
}

var (
	once       sync.Once
	found      *Locust
	findErr    error
	skipReason string
	privateDir string
)

// Find finds a python3 that imports locust. Debian's python3-locust
// (what .ci/run installs) lives in /usr/lib/python3/dist-packages, which only
// Debian's /usr/bin/python3 sees, so that one is tried first.
func Find(t *testing.T) *Locust {
	t.Helper()
	once.Do(func() {
		var pythons []string
		for _, p := range []string{"/usr/bin/python3", "python3"} {
			if path, err := exec.LookPath(p); err == nil && !slices.Contains(pythons, path) {
				pythons = append(pythons, path)
			}
		}
		if len(pythons) == 0 {
			skipReason = "python3 is not installed, so no Locust process can run here; install python3-locust (as .ci/run does) to run this test"
			return
		}
		for _, python := range pythons {
			out, err := exec.Command(python, "-c", "import locust, os; print(os.path.dirname(locust.__file__)); print(locust.__version__)").Output()
			if err != nil {
				continue
			}
			dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			found = &Locust{Python: python, Version: strings.TrimSpace(version)}
			if found.Version == "" {
				findErr = found.privateCopy(dir)
			}
			return
		}
		findErr = fmt.Errorf("python3 is installed (%v) but none of them imports locust: install Debian's python3-locust, as .ci/run does", pythons)
	})
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if findErr != nil {
		t.Fatal(findErr)
	}
	return found
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

// FreePort is a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

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

// readyWorker is the line a master logs for a worker that joined.
var readyWorker = regexp.MustCompile(`(?:Worker|Client) '?([^ ']+)'? (?:\(index \d+\) )?reported as ready`)

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
