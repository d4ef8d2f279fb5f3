package components

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/locustapi"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const testWebPassword = "correct-horse-battery-staple-7"

func loginArgs(t *testing.T, image string) *LocustClusterArgs {
	t.Helper()
	args := testArgs(t)
	args.Image = image
	args.WebLogin = &WebLogin{Username: "team", Password: pulumi.ToSecret(pulumi.String(testWebPassword)).(pulumi.StringOutput)}
	return args
}

// TestWebLoginRendering: the master runs with --web-login and gets the
// username in its spec and the password only by reference to a Secret
// marked secret in Pulumi's state; the workers get neither.
func TestWebLoginRendering(t *testing.T) {
	r := deploy(t, "loadtest", loginArgs(t, "locustio/locust:2.46.3"))
	master, worker := r.container("master"), r.container("worker")
	if !slices.Contains(master.Args, "--web-login") || slices.Contains(worker.Args, "--web-login") {
		t.Errorf("master args %v, worker args %v; want --web-login on the master only", master.Args, worker.Args)
	}
	env := map[string]k8sobject.EnvVar{}
	for _, e := range master.Env {
		env[e.Name] = e
	}
	if env["LOCUST_EKS_WEB_USERNAME"].Value != "team" {
		t.Errorf("master username env %+v", env["LOCUST_EKS_WEB_USERNAME"])
	}
	pw := env["LOCUST_EKS_WEB_PASSWORD"]
	secret, ok := r.monitor.Get("kubernetes:core/v1:Secret", "loadtest-web-login")
	if !ok {
		t.Fatal("no Secret loadtest-web-login")
	}
	if pw.Value != "" || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil || pw.ValueFrom.SecretKeyRef.Key != "password" ||
		pw.ValueFrom.SecretKeyRef.Name != secret.Object()["metadata"].(map[string]any)["name"] {
		t.Errorf("master password env %+v; want a reference to the Secret's key password", pw)
	}
	data := secret.Inputs["stringData"]
	if !data.IsSecret() || data.SecretValue().Element.ObjectValue()["password"].StringValue() != testWebPassword {
		t.Errorf("Secret stringData = %v, want the password, marked secret in Pulumi's state", data)
	}
	for _, d := range []k8sobject.Deployment{r.master, r.worker} {
		b, _ := json.Marshal(d)
		if strings.Contains(string(b), testWebPassword) {
			t.Errorf("%s's spec holds the password", d.Metadata.Name)
		}
	}
	for _, e := range worker.Env {
		if strings.HasPrefix(e.Name, "LOCUST_EKS_WEB_") {
			t.Errorf("a worker gets %s", e.Name)
		}
	}
}

// TestWebLoginRefusals: images whose Locust has no --web-login, or whose
// tag does not say, and usernames no one could type, are refused before
// anything is registered.
func TestWebLoginRefusals(t *testing.T) {
	for _, tc := range []struct{ image, user, want string }{
		{"locustio/locust:2.12.1", "team", "Locust 2.12.1 has no --web-login, which came with 2.21"},
		{"locustio/locust:2.20.1", "team", "has no --web-login"},
		{"locustio/locust@sha256:" + strings.Repeat("a", 64), "team", "its tag does not say which Locust it runs"},
		{"registry.example.com/load/locust:prod-7", "team", "its tag does not say which Locust it runs"},
		{"locustio/locust:2.46.3", "", "WebLogin username"},
		{"locustio/locust:2.46.3", " team", "without spaces at either end"},
	} {
		args := loginArgs(t, tc.image)
		args.WebLogin.Username = tc.user
		_, err := newClusterSpec("loadtest", args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("image %s, user %q: %v; want an error with %q", tc.image, tc.user, err, tc.want)
		}
	}
	for _, image := range []string{"locustio/locust:2.21.0", "locustio/locust:2.24.0-python3.12", "locustio/locust:3.0"} {
		if _, err := newClusterSpec("loadtest", loginArgs(t, image)); err != nil {
			t.Errorf("image %s refused with the web login: %v", image, err)
		}
	}
}

// TestWebLoginOnRealLocust runs the rendered master with its login and two
// workers. Without a session every route that starts, stops or reads a
// test sends to the login page; wrong credentials are refused alike and
// slowed; the right ones start and stop a test; the probe's path and
// /metrics still answer. Locust 2.12 has no --web-login: its argument
// parser refuses it, which is why the stack refuses such an image.
func TestWebLoginOnRealLocust(t *testing.T) {
	t.Parallel()
	eachLocust(t, func(t *testing.T, l *locust) {
		if !l.AtLeast(2, 21) {
			lf := filepath.Join(t.TempDir(), "locustfile.py")
			if err := os.WriteFile(lf, []byte("from locust import User\n\n\nclass U(User):\n    pass\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(l.Python, "-m", "locust", "-f", lf, "--web-login").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "unrecognized arguments: --web-login") {
				t.Fatalf("Locust %s took --web-login: %v\n%s", l.Version, err, out)
			}
			t.Logf("Locust %s refuses --web-login, as the stack refuses its image with webLogin", l.Version)
			return
		}
		target := newFakeTarget(t, &fakeapps.BookinfoProductPage{})
		args := loginArgs(t, "locustio/locust:"+l.Version)
		args.Run = []string{"bookinfo.py"}
		p := renderedPlanOf(t, l, args, target.URL)
		p.master = append(p.master, "--web-host=127.0.0.1")
		// The kubelet fills the password from the Secret, as here.
		for i, e := range p.masterEnv {
			if e == "LOCUST_EKS_WEB_PASSWORD=" {
				p.masterEnv[i] = "LOCUST_EKS_WEB_PASSWORD=" + testWebPassword
			}
		}
		master := start(t, l, "master", p.master, p.masterEnv)
		for _, name := range []string{"worker-1", "worker-2"} {
			start(t, l, name, p.worker, p.workerEnv)
		}
		plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		waitFor(t, time.Now().Add(45*time.Second), "the web UI", func() bool {
			resp, err := plain.Get(p.webURL + "/")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})

		for _, req := range []struct{ method, path string }{
			{"POST", "/swarm"}, {"GET", "/stop"}, {"GET", "/stats/requests"}, {"GET", "/stats/requests/csv"},
			{"GET", "/stats/report"}, {"GET", "/stats/reset"}, {"GET", locustapi.HistogramsPath}, {"GET", "/"},
		} {
			r, _ := http.NewRequest(req.method, p.webURL+req.path, strings.NewReader("user_count=1&spawn_rate=1"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := plain.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			to, _ := resp.Location()
			if resp.StatusCode != http.StatusFound || to == nil || to.Path != "/login" {
				t.Errorf("%s %s without a session: %s to %v; want a redirect to /login", req.method, req.path, resp.Status, to)
			}
		}
		// The probe's GET / counts a redirect as ready (Kubernetes: 200 to
		// 399); /metrics is for Prometheus, on the metrics port behind the
		// NetworkPolicy, and needs no session there.
		if resp, err := plain.Get(p.metricsURL + "/metrics"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("/metrics on the metrics port without a session: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}

		api, err := locustapi.New(p.webURL)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := api.Stats(ctx); !errors.Is(err, locustapi.ErrLoginRequired) {
			t.Errorf("stats without a login: %v, want ErrLoginRequired", err)
		}
		var took []time.Duration
		for _, creds := range [][2]string{{"team", "wrong"}, {"someone", testWebPassword}, {"", ""}} {
			began := time.Now()
			if err := api.Login(ctx, creds[0], creds[1]); !errors.Is(err, locustapi.ErrLoginRefused) {
				t.Errorf("login as %q with a wrong password or name: %v, want ErrLoginRefused", creds[0], err)
			}
			took = append(took, time.Since(began))
		}
		// Each failure from the same address waits 0.25 s times 2 per
		// earlier one (LOGIN_DELAY in the plugin): at least 0.25 s, 0.5 s.
		if took[1] < 250*time.Millisecond || took[2] < 500*time.Millisecond {
			t.Errorf("repeated failed logins took %v; want them slowed", took)
		}
		if err := api.Login(ctx, "team", testWebPassword); err != nil {
			t.Fatalf("login with the right password: %v", err)
		}
		waitFor(t, time.Now().Add(30*time.Second), "two workers", func() bool {
			s, err := api.Stats(ctx)
			return err == nil && s.ConnectedWorkers() == 2
		})
		if err := api.Start(ctx, locustapi.Swarm{Users: 4, SpawnRate: 4}); err != nil {
			t.Fatalf("start through the login: %v", err)
		}
		waitFor(t, time.Now().Add(30*time.Second), "requests", func() bool {
			s, err := api.Stats(ctx)
			return err == nil && s.Requests > 0
		})
		if err := api.Stop(ctx); err != nil {
			t.Fatalf("stop through the login: %v", err)
		}
		s, err := api.SettledStats(ctx)
		if err != nil || s.Requests == 0 {
			t.Fatalf("stats after the test: %+v, %v", s, err)
		}
		if strings.Contains(master.Output(), testWebPassword) {
			t.Error("the master's log shows the password")
		}
		u, _ := url.Parse(p.webURL)
		t.Logf("Locust %s at %s: routes refused without a session, 3 wrong logins refused alike in %v, a test of %d requests run through the login",
			l.Version, u.Host, took, s.Requests)
	})
}
