package main

import (
	"context"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// checkWebLogin turns the web login on as docs/web-ui.md says, with the
// password set encrypted, and reads back from the API server what the
// master runs with: --web-login, the user name, the password only by
// reference to a Secret that holds it. The password is in no event of the
// up, none of its output, no file of the backend or workspace (only
// encrypted). Then the login goes off again and its Secret with it.
func checkWebLogin(t *testing.T, ctx context.Context, stack auto.Stack, kube *kubectl, backendDir, workDir string) {
	t.Helper()
	password := "web-login-" + randomHex(t)
	setConfig(t, ctx, stack, map[string]string{"webLogin": "true", "webUsername": "team"})
	setSecret(t, ctx, stack, "webPassword", password)
	stream := collectEvents()
	up, err := stack.Up(ctx, optup.EventStreams(stream.ch))
	if err != nil {
		t.Fatalf("up with the web login: %v", err)
	}
	master := kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0]
	if !slices.Contains(master.Args, "--web-login") {
		t.Errorf("the master runs %v; want --web-login", master.Args)
	}
	secretName := ""
	for _, e := range master.Env {
		switch e.Name {
		case "LOCUST_EKS_WEB_USERNAME":
			if e.Value != "team" {
				t.Errorf("LOCUST_EKS_WEB_USERNAME=%q", e.Value)
			}
		case "LOCUST_EKS_WEB_PASSWORD":
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Key != "password" {
				t.Errorf("the password env is %+v; want a reference to a Secret's key password", e)
			} else {
				secretName = e.ValueFrom.SecretKeyRef.Name
			}
		}
	}
	if !kube.exists("secret/"+secretName) || secretName == "" {
		t.Errorf("the master's password Secret %q is not in the cluster", secretName)
	}
	if up.Outputs["webUsername"].Value != "team" || !up.Outputs["webPassword"].Secret {
		t.Errorf("outputs webUsername %v, webPassword secret %v", up.Outputs["webUsername"].Value, up.Outputs["webPassword"].Secret)
	}
	checkSecretNeverLeaks(t, kube, "password", password, map[string][]byte{
		"the engine's event stream of the login's up": stream.json(t),
		"the login's up output":                       []byte(up.StdOut + up.StdErr),
	}, backendDir, workDir)

	removeConfig(t, ctx, stack, "webLogin")
	removeConfig(t, ctx, stack, "webUsername")
	removeConfig(t, ctx, stack, "webPassword")
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up with the login off: %v", err)
	}
	if slices.Contains(kube.deployment("loadtest-master").Spec.Template.Spec.Containers[0].Args, "--web-login") || kube.exists("secret/"+secretName) {
		t.Errorf("with the login off the master still runs --web-login, or its Secret %s is left", secretName)
	}
	t.Logf("web login: --web-login on the master, the password only in Secret %s, nowhere in events, output or files; off again", secretName)
}
