package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/internal/testsupport/k8sobject"
	"github.com/locust-eks/locust-on-eks/stackconfig"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// e2eBinEnv names the directory tools/build.sh filled with the real parts:
// the Pulumi CLI, the Kubernetes resource plugin, the Kubernetes control
// plane, etcd and KWOK. The end-to-end test runs only when it is set, so that
// `go test ./...` needs nothing but Go; .ci/run builds the tools and sets it.
const e2eBinEnv = "LOCUST_EKS_E2E_BIN"

// kubernetesPluginVersion is the version the Kubernetes SDK in go.mod asks
// the engine for; the locally built plugin is installed under it.
const kubernetesPluginVersion = "v4.32.0"

// TestEndToEnd drives the real Pulumi engine, through the Automation API's
// inline program, and the real Kubernetes provider against a real API server
// (KWOK fakes the nodes and pod status, so Deployments become Available
// without a kubelet). It runs the `local` stack as `pulumi up` would:
// Pulumi.yaml's config schema and defaults, then Pulumi.local.yaml, with the
// kubeconfig pointed at the throw-away control plane.
func TestEndToEnd(t *testing.T) {
	// Parallel: the package's other slow test, TestStateMetadataCutByAKill,
	// runs beside it; each has its own backend, workspace and ports.
	t.Parallel()
	bin := os.Getenv(e2eBinEnv)
	if bin == "" {
		t.Skipf("%s is not set: build the real parts with `tools/build.sh bin` and run with %s=$PWD/bin (docs/testing.md, \"End-to-end test\")", e2eBinEnv, e2eBinEnv)
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"pulumi", "pulumi-resource-kubernetes", "kwokctl", "kwok", "kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("%s: %v (run tools/build.sh %s)", tool, err, bin)
		}
	}
	timings := &timingTable{}
	defer timings.log(t)
	// A bound on a hung step, not a timing: a run takes about 7 minutes on
	// a quiet machine, more than twice that on a loaded one; go test's own
	// -timeout 30m (.ci/run) is the outer bound.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	// The tools are built; this only checks they are current (a rebuild when
	// tools/ changed since).
	stop := timings.start("tool build (up-to-date check)")
	if out, err := exec.Command("tools/build.sh", bin).CombinedOutput(); err != nil {
		t.Fatalf("tools/build.sh: %v\n%s", err, out)
	}
	stop()

	// The control plane, on 127.0.0.1 only.
	stop = timings.start("control plane start")
	cluster := startCluster(t, bin)
	stop()
	kube := &kubectl{t: t, path: filepath.Join(bin, "kubectl"), kubeconfig: cluster.kubeconfig}
	kube.apply(fakeNode)

	// The Pulumi side: private home, file backend, the locally built plugin.
	home := t.TempDir()
	backendDir, workDir := t.TempDir(), t.TempDir()
	env := map[string]string{
		"PULUMI_HOME":                                 home,
		"PULUMI_BACKEND_URL":                          "file://" + backendDir,
		"PULUMI_CONFIG_PASSPHRASE":                    "end-to-end",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	install := exec.Command(filepath.Join(bin, "pulumi"), "plugin", "install", "resource", "kubernetes", kubernetesPluginVersion,
		"--file", filepath.Join(bin, "pulumi-resource-kubernetes"))
	install.Env = append(os.Environ(), "PULUMI_HOME="+home)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("installing the Kubernetes plugin: %v\n%s", err, out)
	}

	project, err := workspace.LoadProject("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	stackSettings, err := workspace.LoadProjectStack(sink, project, "Pulumi.local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the locustfiles the test can edit.
	locustfiles := t.TempDir()
	if err := os.CopyFS(locustfiles, os.DirFS("locustfiles")); err != nil {
		t.Fatal(err)
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(bin)})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(bin) != "bin" {
		t.Fatalf("%s must be a directory named bin (the Automation API runs <root>/bin/pulumi)", bin)
	}
	stack, err := auto.UpsertStackInlineSource(ctx, "local", project.Name.String(), program(locustfiles, workDir),
		auto.Project(*project),
		auto.Stacks(map[string]workspace.ProjectStack{"local": *stackSettings}),
		auto.WorkDir(workDir),
		auto.PulumiHome(home),
		auto.Pulumi(cli),
		auto.EnvVars(env),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave nothing behind, whatever failed above.
		stack.Destroy(context.Background())
		stack.Workspace().RemoveStack(context.Background(), "local")
	})
	setConfig(t, ctx, stack, map[string]string{"kubeconfig": cluster.kubeconfig, "kubeContext": cluster.context})
	values, err := stackconfig.ReadStack(".", "local")
	if err != nil {
		t.Fatal(err)
	}
	workers := values["workers"]

	// 1. preview, then up.
	stop = timings.start("first preview")
	preview, err := stack.Preview(ctx)
	stop()
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if preview.ChangeSummary[apitype.OpCreate] == 0 {
		t.Fatalf("first preview plans no creates: %v", preview.ChangeSummary)
	}
	t.Logf("first preview: %v", preview.ChangeSummary)
	// A token for the test code, set as a user would: encrypted, by path.
	secretValue := "e2e-token-" + randomHex(t) + "=="
	setSecret(t, ctx, stack, "secretEnv.API_TOKEN", secretValue)
	stop = timings.start("first up")
	stream := collectEvents()
	up, err := stack.Up(ctx, optup.EventStreams(stream.ch))
	stop()
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	checkDeployed(t, kube, up.Outputs, workers)
	checkPolicies(t, kube)
	checkLoadTestOutputs(t, ctx, filepath.Join(bin, "pulumi"), workDir, env)
	stop = timings.start("cmd/loadtest through a port-forward")
	checkLoadTest(t, ctx, bin, workDir, locustfiles, env, kube, cluster.kubeconfig)
	stop()
	checkSecretNeverLeaks(t, kube, "API_TOKEN", secretValue, map[string][]byte{
		"the engine's event stream of up": stream.json(t),
		"up's output":                     []byte(up.StdOut + up.StdErr),
	}, backendDir, workDir)

	// 2. A second up changes nothing.
	stop = timings.start("no-op preview + up")
	if _, err := stack.Preview(ctx, optpreview.ExpectNoChanges()); err != nil {
		t.Errorf("preview after up expects changes: %v", err)
	}
	if _, err := stack.Up(ctx, optup.ExpectNoChanges()); err != nil {
		t.Errorf("second up changed something: %v", err)
	}
	stop()

	// 3. A locustfile edit rolls master and workers onto the new content.
	before := map[string][]string{"loadtest-master": kube.replicaSets("loadtest-master"), "loadtest-worker": kube.replicaSets("loadtest-worker")}
	edit := "\n# edited by the end-to-end test\n"
	f, err := os.OpenFile(filepath.Join(locustfiles, "bookinfo.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(edit)
	f.Close()
	stop = timings.start("locustfile edit: preview + up")
	preview, err = stack.Preview(ctx)
	if err != nil {
		t.Fatalf("preview of the edit: %v", err)
	}
	if preview.ChangeSummary[apitype.OpReplace]+preview.ChangeSummary[apitype.OpCreateReplacement] == 0 || preview.ChangeSummary[apitype.OpUpdate] < 2 {
		t.Errorf("preview of a locustfile edit: %v; want the ConfigMap replaced and both Deployments updated", preview.ChangeSummary)
	}
	t.Logf("preview of a locustfile edit: %v", preview.ChangeSummary)
	if _, err := stack.Up(ctx); err != nil {
		t.Fatalf("up of the edit: %v", err)
	}
	stop()
	for _, name := range []string{"loadtest-master", "loadtest-worker"} {
		after := kube.replicaSets(name)
		fresh := slices.DeleteFunc(slices.Clone(after), func(rs string) bool { return slices.Contains(before[name], rs) })
		if len(fresh) != 1 {
			t.Errorf("%s: ReplicaSets %v before the edit, %v after; want one new", name, before[name], after)
		}
		t.Logf("%s rolled: ReplicaSets %v -> %v", name, before[name], after)
		d := kube.deployment(name)
		if !strings.HasSuffix(kube.configMapData(d.Spec.Template.Spec.VolumeConfigMap("locustfiles"))["bookinfo.py"], edit) {
			t.Errorf("%s mounts ConfigMap %s, which does not hold the edited locustfile", name, d.Spec.Template.Spec.VolumeConfigMap("locustfiles"))
		}
		if d.Status.AvailableReplicas != d.Spec.Replicas {
			t.Errorf("%s: %d of %d available after the roll", name, d.Status.AvailableReplicas, d.Spec.Replicas)
		}
	}

	// 4. More workers: replicas updated in place, nothing replaced.
	uid := kube.deployment("loadtest-worker").Metadata.UID
	setConfig(t, ctx, stack, map[string]string{"workers": "3"})
	stop = timings.start("scale workers: preview + up")
	preview, err = stack.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if preview.ChangeSummary[apitype.OpUpdate] != 1 || preview.ChangeSummary[apitype.OpReplace] != 0 || preview.ChangeSummary[apitype.OpCreateReplacement] != 0 {
		t.Errorf("preview of workers 2 -> 3: %v; want one update and no replacement", preview.ChangeSummary)
	}
	t.Logf("preview of workers 2 -> 3: %v", preview.ChangeSummary)
	if _, err := stack.Up(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	w := kube.deployment("loadtest-worker")
	if w.Spec.Replicas != 3 || w.Status.AvailableReplicas != 3 || w.Metadata.UID != uid {
		t.Errorf("worker Deployment: %d/%d available, uid %s (was %s); want 3/3, same object", w.Status.AvailableReplicas, w.Spec.Replicas, w.Metadata.UID, uid)
	}

	// 4'. Three shards and back: shard 0 untouched, each shard's selectors
	// its own pods, as the API server reads them.
	stop = timings.start("shards: preview, two ups, a load test across them")
	checkShards(t, ctx, stack, kube, bin, workDir, env, cluster.kubeconfig)
	stop()

	// 4a. Changes made behind Pulumi's back are undone by the next up.
	stop = timings.start("drift: up with refresh")
	checkDriftRestored(t, ctx, stack, kube)
	stop()

	// 4b. An up killed or cancelled half way is finished by the next one,
	// after the recovery docs/recovery.md gives, with nothing orphaned.
	stop = timings.start("interrupted ups: kill, cancel, recover")
	checkInterruptedUpRecovers(t, ctx, stack, kube, locustfiles, bin, workDir, env)
	stop()

	// 4c. Values at the edge of what the validators accept: the real API
	// server must accept them too.
	stop = timings.start("edge values: up")
	checkEdgeValuesAccepted(t, ctx, stack, kube, locustfiles)
	stop()

	// 4c'. The web login: the master asks for it, the password reaches it
	// only through a Secret, and leaks nowhere.
	stop = timings.start("web login: up, check, off")
	checkWebLogin(t, ctx, stack, kube, backendDir, workDir)
	stop()

	// 4c''. The web UI exposed: an internal load balancer, one with
	// Locust's own TLS, then an Ingress on a sub-path, as stored by the API
	// server; unsafe settings refused at preview; private again.
	stop = timings.start("web exposure: three ups, refusals, private again")
	checkWebExposure(t, ctx, stack, kube)
	stop()

	// 4d. Stacks past their time to live are destroyed by the reaper; live
	// ones and ones without an expiry are not.
	stop = timings.start("reaper: two more stacks, dry run, reap")
	checkReaper(t, ctx, bin, workDir, env, kube, project, stackSettings, locustfiles, cluster)
	stop()

	// 5. An invalid value fails the preview, naming the key, and changes nothing.
	snapshot := kube.resourceVersions()
	setConfig(t, ctx, stack, map[string]string{"workers": "0"})
	_, err = stack.Preview(ctx)
	if err == nil || !strings.Contains(err.Error(), `workers: got "0"`) {
		t.Errorf("preview with workers 0: %v; want the config error naming workers", err)
	} else {
		t.Logf("preview with workers 0 failed as it should: %s", configErrorLine(err.Error()))
	}
	if _, err := stack.Up(ctx); err == nil {
		t.Errorf("up with workers 0 succeeded")
	}
	if after := kube.resourceVersions(); !maps.Equal(snapshot, after) {
		t.Errorf("the cluster changed after a failed config: %v -> %v", snapshot, after)
	}
	setConfig(t, ctx, stack, map[string]string{"workers": "3"})
	stop = timings.start("rejected values: previews")
	checkRejectedAtPreview(t, ctx, stack, kube, secretValue)
	stop()

	// 6. destroy leaves nothing of ours, after a campaign cancelled during
	// its load test and again during its destroy (e2e_campaign_test.go).
	checkCancelledCampaign(t, ctx, stack, kube, timings, bin, workDir, backendDir, env, cluster.kubeconfig)
	kube.waitGone(t, "namespace/locust", 2*time.Minute)
	if left := kube.ours(); len(left) > 0 {
		t.Errorf("left in the cluster after destroy: %v", left)
	}
	state := exportState(t, ctx, stack)
	for _, r := range state.Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			t.Errorf("stack still holds %s %s after destroy", r.Type, r.URN.Name())
		}
	}
	t.Logf("destroy: nothing of ours in the cluster, %d resources in the stack", len(state.Resources))
}

// configErrorLine picks the line naming the bad key out of the engine's output.
func configErrorLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "workers: got") {
			return strings.TrimSpace(line)
		}
	}
	return out
}

// checkDeployed checks through the API server what `pulumi up` created.
func checkDeployed(t *testing.T, kube *kubectl, outputs auto.OutputMap, workers string) {
	t.Helper()
	if !kube.exists("namespace/locust") {
		t.Fatal("namespace locust missing")
	}
	master, worker := kube.deployment("loadtest-master"), kube.deployment("loadtest-worker")
	if master.Status.AvailableReplicas != 1 || master.Spec.Replicas != 1 {
		t.Errorf("master %d/%d available, want 1/1", master.Status.AvailableReplicas, master.Spec.Replicas)
	}
	if fmt.Sprint(worker.Spec.Replicas) != workers || worker.Status.AvailableReplicas != worker.Spec.Replicas {
		t.Errorf("workers %d/%d available, want %s/%s", worker.Status.AvailableReplicas, worker.Spec.Replicas, workers, workers)
	}
	for _, d := range []k8sobject.Deployment{master, worker} {
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		if d.Metadata.Labels["app.kubernetes.io/managed-by"] != "pulumi" || d.Spec.Template.Metadata.Labels["app.kubernetes.io/name"] != "locust" {
			t.Errorf("%s labels %v / %v", d.Metadata.Name, d.Metadata.Labels, d.Spec.Template.Metadata.Labels)
		}
		if c.Image != components.DefaultImage || !slices.Contains(c.Args, "--locustfile=/mnt/locust/bookinfo.py,/mnt/locust/locust_eks_worker.py") {
			t.Errorf("%s container image %s args %v", d.Metadata.Name, c.Image, c.Args)
		}
		psc, csc := pod.SecurityContext, c.SecurityContext
		if psc.RunAsUser == nil || *psc.RunAsUser != 1000 || !isTrue(psc.RunAsNonRoot) || psc.SeccompProfile.Type != "RuntimeDefault" ||
			!isFalse(csc.AllowPrivilegeEscalation) || !isTrue(csc.ReadOnlyRootFilesystem) || !slices.Equal(csc.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("%s security contexts %+v %+v", d.Metadata.Name, psc, csc)
		}
		if !isFalse(pod.EnableServiceLinks) || !isFalse(pod.AutomountServiceAccountToken) {
			t.Errorf("%s: service links and token mount must both be off", d.Metadata.Name)
		}
		if env, _ := c.EnvValue("LOCUST_HOST"); env != "http://productpage.bookinfo.svc:9080" {
			t.Errorf("%s LOCUST_HOST = %q", d.Metadata.Name, env)
		}
	}
	if mc := master.Spec.Template.Spec.Containers[0]; mc.ReadinessProbe == nil || mc.ReadinessProbe.HTTPGet == nil ||
		mc.ReadinessProbe.HTTPGet.Port != "web" || !slices.Contains(mc.Args, "--master") {
		t.Errorf("master probe %+v args %v", mc.ReadinessProbe, mc.Args)
	}
	if host, _ := worker.Spec.Template.Spec.Containers[0].EnvValue("LOCUST_MASTER_NODE_HOST"); host != "loadtest-master.locust.svc" {
		t.Errorf("worker LOCUST_MASTER_NODE_HOST = %q", host)
	}
	var svc k8sobject.Service
	kube.getJSON(&svc, "service/loadtest-master")
	var ports []int
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.Port)
	}
	// The workers' port, the web UI's, and /metrics on a port of its own
	// that no exposure forwards.
	if svc.Spec.Type != "ClusterIP" || !slices.Equal(ports, []int{5557, 8089, 9646}) {
		t.Errorf("service %s ports %v, want ClusterIP 5557, 8089 and 9646", svc.Spec.Type, ports)
	}
	if name := master.Spec.Template.Spec.VolumeConfigMap("locustfiles"); name == "" || kube.configMapData(name)["bookinfo.py"] == "" {
		t.Errorf("master mounts ConfigMap %q without bookinfo.py", name)
	}

	want := map[string]any{
		"namespace":          "locust",
		"masterService":      "loadtest-master",
		"masterAddress":      "loadtest-master.locust.svc",
		"portForwardCommand": "kubectl port-forward --namespace locust service/loadtest-master 8089:8089",
	}
	for key, value := range want {
		if outputs[key].Value != value {
			t.Errorf("output %s = %v, want %v", key, outputs[key].Value, value)
		}
	}
	if fmt.Sprint(outputs["workers"].Value) != workers {
		t.Errorf("output workers = %v, want %s", outputs["workers"].Value, workers)
	}
}

func setConfig(t *testing.T, ctx context.Context, stack auto.Stack, values map[string]string) {
	t.Helper()
	cfg := auto.ConfigMap{}
	for k, v := range values {
		cfg[stackconfig.Project+":"+k] = auto.ConfigValue{Value: v}
	}
	if err := stack.SetAllConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}
