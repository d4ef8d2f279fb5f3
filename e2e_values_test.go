package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/locust-eks/locust-on-eks/stackconfig"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
)

// What the end-to-end test checks of config values: that a secret never
// reaches a log, a state file or an event; that values at the edge of what
// the validators accept are accepted by the real API server; that each class
// of value the validators refuse is refused at preview, naming its key, with
// nothing changed.

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// setSecret sets one config path encrypted, as
// `pulumi config set --secret --path KEY VALUE` does.
func setSecret(t *testing.T, ctx context.Context, stack auto.Stack, path, value string) {
	t.Helper()
	if err := stack.SetConfigWithOptions(ctx, stackconfig.Project+":"+path, auto.ConfigValue{Value: value, Secret: true}, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatal(err)
	}
}

// setPlain sets one config path in plain text, by path.
func setPlain(t *testing.T, ctx context.Context, stack auto.Stack, path, value string) {
	t.Helper()
	if err := stack.SetConfigWithOptions(ctx, stackconfig.Project+":"+path, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatal(err)
	}
}

func removeConfig(t *testing.T, ctx context.Context, stack auto.Stack, path string) {
	t.Helper()
	if err := stack.RemoveConfigWithOptions(ctx, stackconfig.Project+":"+path, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatal(err)
	}
}

// eventLog keeps every engine event of one operation.
type eventLog struct {
	ch   chan events.EngineEvent
	mu   sync.Mutex
	all  []events.EngineEvent
	done chan struct{}
}

func collectEvents() *eventLog {
	l := &eventLog{ch: make(chan events.EngineEvent), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for e := range l.ch {
			l.mu.Lock()
			l.all = append(l.all, e)
			l.mu.Unlock()
		}
	}()
	return l
}

// json is every event received, as JSON; the Automation API closes the
// channel when the operation ends.
func (l *eventLog) json(t *testing.T) []byte {
	<-l.done
	b, err := json.Marshal(l.all)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.all) == 0 {
		t.Error("the engine sent no events")
	}
	return b
}

// checkSecretNeverLeaks looks for the secret's bytes everywhere Pulumi wrote
// or said something: the given texts, every file of the file backend (state,
// history, backups) and of the workspace (the stack file). It must reach the
// cluster, in the Secret the pods read, and nowhere else.
func checkSecretNeverLeaks(t *testing.T, kube *kubectl, key, secret string, texts map[string][]byte, dirs ...string) {
	t.Helper()
	encodings := map[string]string{
		"plain":  secret,
		"base64": base64.StdEncoding.EncodeToString([]byte(secret)),
	}
	look := func(where string, b []byte) {
		for enc, s := range encodings {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret (%s)", where, enc)
			}
		}
	}
	for where, b := range texts {
		look(where, b)
	}
	files := 0
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			look(path, b)
			return nil
		})
	}

	var secrets struct {
		Items []struct {
			Data map[string]string `json:"data"`
		} `json:"items"`
	}
	kube.getJSON(&secrets, "secrets", "-l", "app.kubernetes.io/instance=loadtest")
	found := false
	for _, s := range secrets.Items {
		if v, err := base64.StdEncoding.DecodeString(s.Data[key]); err == nil && string(v) == secret {
			found = true
		}
	}
	if !found {
		t.Errorf("no Secret in the cluster carries %s with the value set; %d Secrets", key, len(secrets.Items))
	}
	t.Logf("secret: in the cluster's Secret only; absent from %d texts and %d files of the backend and workspace", len(texts), files)
}

// checkEdgeValuesAccepted deploys values at the edge of what the validators
// accept and sees the real API server take them: an image pinned by a
// 63-character tag and a digest (the longest tag that is still a label
// value), a Secret key of 253 characters, an env name with '.' and '-', a
// locustfile name of dots, dashes and underscores. Then it puts the stack
// back.
func checkEdgeValuesAccepted(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, locustfiles string) {
	t.Helper()
	tag := "2.46.3-" + strings.Repeat("x", 63-len("2.46.3-"))
	image := "locustio/locust:" + tag + "@sha256:" + strings.Repeat("a", 64)
	longName := "T" + strings.Repeat("_", 251) + "T"
	oddFile := "_odd-but.legal_name.py"
	if err := os.WriteFile(filepath.Join(locustfiles, oddFile), []byte("# mounted beside the locustfiles, not run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setConfig(t, ctx, stack, map[string]string{"image": image})
	setPlain(t, ctx, stack, "extraEnv[0]", "my.env-name=1")
	setSecret(t, ctx, stack, "secretEnv."+longName, "edge")
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up with edge values the validators accept: %v", err)
	}
	d := kube.deployment("loadtest-master")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
		t.Errorf("master image %q, want %q", got, image)
	}
	if got := d.Metadata.Labels["app.kubernetes.io/version"]; got != tag {
		t.Errorf("version label %q, want the 63-character tag", got)
	}
	if _, ok := kube.configMapData(d.Spec.Template.Spec.VolumeConfigMap("locustfiles"))[oddFile]; !ok {
		t.Errorf("the ConfigMap lacks %s", oddFile)
	}
	if env, _ := d.Spec.Template.Spec.Containers[0].EnvValue("my.env-name"); env != "1" {
		t.Errorf("my.env-name = %q in the master", env)
	}
	t.Logf("edge values accepted by the API server: image %s, Secret key of %d characters, env my.env-name, file %s", image, len(longName), oddFile)

	os.Remove(filepath.Join(locustfiles, oddFile))
	removeConfig(t, ctx, stack, "secretEnv."+longName)
	removeConfig(t, ctx, stack, "extraEnv")
	removeConfig(t, ctx, stack, "image")
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up back to the usual values: %v", err)
	}
}

// checkRejectedAtPreview sets one refused value of each class and wants the
// preview to fail naming its key, without a byte of the secret in the error,
// and the cluster unchanged.
func checkRejectedAtPreview(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, secret string) {
	t.Helper()
	snapshot := kube.resourceVersions()
	for _, tc := range []struct {
		name  string
		set   func()
		undo  func()
		want  string
		avoid string
	}{
		{"image a registry refuses", func() { setConfig(t, ctx, stack, map[string]string{"image": "locustio/Locust:2.46.3"}) },
			func() { removeConfig(t, ctx, stack, "image") }, `image: got "locustio/Locust:2.46.3"`, ""},
		{"namespace the API server refuses", func() { setConfig(t, ctx, stack, map[string]string{"namespace": "Load_Test"}) },
			func() { removeConfig(t, ctx, stack, "namespace") }, `namespace: got "Load_Test"`, ""},
		{"env name the API server refuses", func() { setPlain(t, ctx, stack, "extraEnv[0]", "MY VAR=1") },
			func() { removeConfig(t, ctx, stack, "extraEnv") }, `extraEnv: got "MY VAR=1"`, ""},
		{"quantity the API server refuses", func() { setConfig(t, ctx, stack, map[string]string{"workerCpuRequest": "1 core"}) },
			func() { setConfig(t, ctx, stack, map[string]string{"workerCpuRequest": "250m"}) }, `workerCpuRequest: got "1 core"`, ""},
		{"secret env entry set in plain text", func() { setPlain(t, ctx, stack, "secretEnv.OTHER", "plain-"+secret) },
			func() { removeConfig(t, ctx, stack, "secretEnv.OTHER") }, "secretEnv.OTHER: got a plain-text value", secret},
		{"secret env entry set without --path", func() {
			if err := stack.SetConfigWithOptions(ctx, stackconfig.Project+":secretEnv.LATER", auto.ConfigValue{Value: "later-" + secret, Secret: true}, &auto.ConfigOptions{}); err != nil {
				t.Fatal(err)
			}
		}, func() {
			if err := stack.RemoveConfigWithOptions(ctx, stackconfig.Project+":secretEnv.LATER", &auto.ConfigOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "secretEnv.LATER: got a key of its own (value not shown)", secret},
		{"a secret typed into a secret env name", func() { setSecret(t, ctx, stack, "secretEnv.API_KEY="+secret, "") },
			func() { removeConfig(t, ctx, stack, "secretEnv.API_KEY="+secret) }, "starting API_KEY=", secret},
		{"web login on an image without it", func() {
			setConfig(t, ctx, stack, map[string]string{"webLogin": "true", "image": "locustio/locust:2.12.1"})
			setSecret(t, ctx, stack, "webPassword", "login-"+secret)
		}, func() {
			removeConfig(t, ctx, stack, "webLogin")
			removeConfig(t, ctx, stack, "image")
			removeConfig(t, ctx, stack, "webPassword")
		},
			`image: got "locustio/locust:2.12.1"; must run Locust 2.21 or later when webLogin is true`, secret},
		{"web password in plain text", func() {
			setConfig(t, ctx, stack, map[string]string{"webLogin": "true"})
			setPlain(t, ctx, stack, "webPassword", "login-"+secret)
		}, func() { removeConfig(t, ctx, stack, "webLogin"); removeConfig(t, ctx, stack, "webPassword") },
			"webPassword: got a plain-text value (not shown)", secret},
		{"Locust setting that breaks the workers", func() { setPlain(t, ctx, stack, "extraEnv[0]", "LOCUST_PROCESSES=4") },
			func() { removeConfig(t, ctx, stack, "extraEnv") }, `extraEnv: got "LOCUST_PROCESSES=4"`, ""},
	} {
		before, err := stack.GetAllConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tc.set()
		_, err = stack.Preview(ctx)
		switch {
		case err == nil:
			t.Errorf("%s: preview succeeded", tc.name)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: preview failed without naming the key (%q):\n%s", tc.name, tc.want, err)
		case tc.avoid != "" && strings.Contains(err.Error(), tc.avoid):
			t.Errorf("%s: the error shows the secret", tc.name)
		default:
			t.Logf("%s: refused at preview: %s", tc.name, tc.want)
		}
		tc.undo()
		if after, err := stack.GetAllConfig(ctx); err != nil || !maps.Equal(before, after) {
			t.Fatalf("%s: config not restored (%v): %v -> %v", tc.name, err, before, after)
		}
	}
	if after := kube.resourceVersions(); !maps.Equal(snapshot, after) {
		t.Errorf("the cluster changed after refused previews: %v -> %v", snapshot, after)
	}
}
