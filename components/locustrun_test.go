package components

import (
	"bufio"
	"encoding/csv"
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
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// These tests run real Locust processes, started from the containers the
// component renders, against a fake target on 127.0.0.1. They prove what the
// mocks cannot: that Locust accepts our arguments, that workers find the
// master the way the rendered wiring says, and that the locustfiles call the
// endpoints of the systems they are written for.

// locust is a Locust installation these tests can start.
type locust struct {
	python  string
	env     []string // PYTHONPATH for the private copy, when one was needed
	version string
}

var (
	locustOnce   sync.Once
	locustFound  *locust
	locustErr    error
	locustSkip   string
	locustTmpDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if locustTmpDir != "" {
		os.RemoveAll(locustTmpDir)
	}
	os.Exit(code)
}

// findLocust finds a python3 that imports locust. Debian's python3-locust
// (what .ci/run installs) lives in /usr/lib/python3/dist-packages, which only
// Debian's /usr/bin/python3 sees, so that one is tried first.
func findLocust(t *testing.T) *locust {
	t.Helper()
	locustOnce.Do(func() {
		var pythons []string
		for _, p := range []string{"/usr/bin/python3", "python3"} {
			if path, err := exec.LookPath(p); err == nil && !slices.Contains(pythons, path) {
				pythons = append(pythons, path)
			}
		}
		if len(pythons) == 0 {
			locustSkip = "python3 is not installed, so no Locust process can run here; install python3-locust (as .ci/run does) to run this test"
			return
		}
		for _, python := range pythons {
			out, err := exec.Command(python, "-c", "import locust, os; print(os.path.dirname(locust.__file__)); print(locust.__version__)").Output()
			if err != nil {
				continue
			}
			dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			locustFound = &locust{python: python, version: strings.TrimSpace(version)}
			if locustFound.version == "" {
				locustErr = locustFound.privateCopy(dir)
			}
			return
		}
		locustErr = fmt.Errorf("python3 is installed (%v) but none of them imports locust: install Debian's python3-locust, as .ci/run does", pythons)
	})
	if locustSkip != "" {
		t.Skip(locustSkip)
	}
	if locustErr != nil {
		t.Fatal(locustErr)
	}
	return locustFound
}

// privateCopy works around Debian's python3-locust 2.12.1, which reports an
// empty version string (its _version.py is generated at release time and
// Debian's build leaves it blank). A master with an empty version takes every
// worker for a "pre 2.0" one and rejects it, so distributed runs never
// start. The copy, on PYTHONPATH, carries the package's real version; the
// system package is left as it is.
func (l *locust) privateCopy(pkgDir string) error {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "python3-locust").Output()
	if err != nil {
		return fmt.Errorf("locust reports no version and dpkg-query cannot tell it either: %v", err)
	}
	version := string(out)
	if _, after, ok := strings.Cut(version, ":"); ok { // epoch
		version = after
	}
	version, _, _ = strings.Cut(version, "-") // Debian revision
	if locustTmpDir, err = os.MkdirTemp("", "locust-private-"); err != nil {
		return err
	}
	dest := filepath.Join(locustTmpDir, "locust")
	if err := os.CopyFS(dest, os.DirFS(pkgDir)); err != nil {
		return fmt.Errorf("copying %s: %w", pkgDir, err)
	}
	if err := os.WriteFile(filepath.Join(dest, "_version.py"), []byte(fmt.Sprintf("version = %q\n", version)), 0o644); err != nil {
		return err
	}
	l.env = []string{"PYTHONPATH=" + locustTmpDir}
	l.version = version
	return nil
}

// atLeast reports whether the Locust version is major.minor or newer.
func (l *locust) atLeast(major, minor int) bool {
	parts := strings.SplitN(l.version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma > major || (ma == major && mi >= minor)
}

// plan is how to start the master and the workers of one rendered cluster.
type plan struct {
	master, worker []string // argv
	masterEnv      []string
	workerEnv      []string
	csvPrefix      string
}

// localPlan renders a LocustCluster running locustfile against target and
// turns its containers into local commands. Only what cannot hold outside a
// cluster changes: the Service DNS name becomes 127.0.0.1, the Service's
// ports become free local ports, and the ConfigMap mount path becomes the
// locustfiles directory. Then it adds what bounds a test run: headless,
// users, spawn rate, run time and the CSV output.
func localPlan(t *testing.T, l *locust, locustfile, target string, users int, runTime string) plan {
	t.Helper()
	args := testArgs(t)
	args.Run = []string{locustfile}
	args.TargetHost = pulumi.String(target)
	args.Workers = 2
	r := deploy(t, "loadtest", args)

	dir, err := filepath.Abs(locustfileDir)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]int{}
	for _, p := range r.service.Spec.Ports {
		ports[p.Port] = freePort(t)
	}
	masterAddress := r.outputs["masterAddress"].(string)

	localize := func(c k8sobject.Container) (argv, env []string) {
		if len(c.Command) == 0 || c.Command[0] != "locust" {
			t.Fatalf("%s command is %v; the test knows how to run only the image's locust", c.Name, c.Command)
		}
		argv = append([]string{l.python, "-m", "locust"}, c.Command[1:]...)
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
		return argv, env
	}

	p := plan{csvPrefix: filepath.Join(t.TempDir(), "stats")}
	p.master, p.masterEnv = localize(r.container("master"))
	p.worker, p.workerEnv = localize(r.container("worker"))
	p.master = append(p.master,
		"--master-bind-host=127.0.0.1",
		"--headless",
		fmt.Sprintf("--users=%d", users),
		fmt.Sprintf("--spawn-rate=%d", users),
		"--run-time="+runTime,
		"--expect-workers=2",
		"--expect-workers-max-wait=30",
		"--csv="+p.csvPrefix,
	)
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is one running Locust process, its output kept in a file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func start(t *testing.T, l *locust, name string, argv, env []string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// A clean environment: the container's variables only, plus what Python
	// needs. No LOCUST_* from the machine running the tests leaks in.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PYTHONDONTWRITEBYTECODE=1"}, l.env...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
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
			t.Logf("--- %s output ---\n%s", name, tail(p.output(), 40))
		}
	})
	return p
}

// wait waits for the process to exit by itself until the deadline.
func (p *process) wait(t *testing.T, deadline time.Time) (exitCode int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Until(deadline)):
		t.Fatalf("%s still running at the deadline; it should have exited by itself", p.name)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) output() string {
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

// readyWorkers are the distinct workers the master reported as ready. The
// master may log the same worker more than once, from its retried handshakes.
var readyWorker = regexp.MustCompile(`(?:Worker|Client) '?([^ ']+)'? (?:\(index \d+\) )?reported as ready`)

func readyWorkers(masterLog string) []string {
	var ids []string
	for _, m := range readyWorker.FindAllStringSubmatch(masterLog, -1) {
		if !slices.Contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// aggregate reads the master's CSV stats: total requests and failures.
func aggregate(t *testing.T, prefix string) (requests, failures int, rps float64) {
	t.Helper()
	f, err := os.Open(prefix + "_stats.csv")
	if err != nil {
		t.Fatalf("master wrote no CSV stats: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("reading CSV stats: %v (%d rows)", err, len(rows))
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("CSV stats have no %q column: %v", name, rows[0])
		}
		return i
	}
	nameCol, reqCol, failCol, rpsCol := col("Name"), col("Request Count"), col("Failure Count"), col("Requests/s")
	for _, row := range rows[1:] {
		if row[nameCol] == "Aggregated" {
			requests, _ = strconv.Atoi(row[reqCol])
			failures, _ = strconv.Atoi(row[failCol])
			rps, _ = strconv.ParseFloat(row[rpsCol], 64)
			return
		}
	}
	t.Fatalf("CSV stats have no Aggregated row")
	return
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, deadline time.Time, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
