// Command locust-eks is a Pulumi program that runs distributed Locust load
// tests on Kubernetes: on an EKS cluster it creates, or on any existing
// cluster named by a kubeconfig context.
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/locust-eks/locust-on-eks/components"
	"github.com/locust-eks/locust-on-eks/components/ekscluster"
	"github.com/locust-eks/locust-on-eks/components/resultsbucket"
	"github.com/locust-eks/locust-on-eks/internal/stackexpiry"
	"github.com/locust-eks/locust-on-eks/stackconfig"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	// The language host tells the program where Pulumi.<stack>.yaml is.
	pulumi.Run(program("locustfiles", ""))
}

// program is the whole stack. It reads the locustfiles from locustfileDir,
// so tests can run it on a copy they edit, and the stack's settings file
// from stackFileDir, or the project directory when that is empty (an inline
// Automation API program has none, so its caller says where the workspace
// is).
func program(locustfileDir, stackFileDir string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		outputs, err := deployStack(ctx, locustfileDir, stackFileDir)
		if err != nil {
			return err
		}
		for name, value := range outputs {
			ctx.Export(name, value)
		}
		return nil
	}
}

// deployStack is config in, cluster, provider, LocustCluster, outputs.
func deployStack(ctx *pulumi.Context, locustfileDir, stackFileDir string) (pulumi.Map, error) {
	files, err := components.ReadLocustfiles(locustfileDir)
	if err != nil {
		return nil, err
	}
	// Everything is validated before the first resource is registered, so a
	// bad value never leaves a half-created stack behind.
	cfg, err := stackconfig.Load(ctx, slices.Sorted(maps.Keys(files)), stackFileDir)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return nil, err
		}
	}

	// The expiry is read before anything is created: the AWS resources
	// carry it as a tag.
	expiry, err := stackexpiry.Resolve(ctx, cfg.TTLHours, time.Now())
	if err != nil {
		return nil, err
	}
	outputs := expiry.Outputs()
	provider, place, err := clusterFor(ctx, cfg, expiry, outputs)
	if err != nil {
		return nil, err
	}
	locust, err := components.NewLocustCluster(ctx, "loadtest", locustClusterArgs(cfg.Locust, files, place),
		pulumi.Provider(provider))
	if err != nil {
		return nil, err
	}
	addLocustOutputs(outputs, locust, cfg)
	switch {
	case cfg.LoadTest.ResultsBucket != "":
		outputs["resultsBucket"] = pulumi.String(cfg.LoadTest.ResultsBucket)
	case cfg.Mode == stackconfig.ModeEKS:
		bucket, err := resultsbucket.New(ctx, "results", resultsbucket.Args{
			ExpireDays: cfg.LoadTest.ExpireDays, ForceDestroy: cfg.LoadTest.ForceDestroy, Tags: stackTags(ctx.Stack()),
		})
		if err != nil {
			return nil, err
		}
		outputs["resultsBucket"] = bucket.Name
	}
	return outputs, nil
}

// clusterFor is the Kubernetes cluster Locust runs on, by the stack's mode:
// a new EKS cluster, or an existing cluster's context. It returns the
// cluster's provider and where the master and workers go, and adds the
// cluster's outputs.
func clusterFor(ctx *pulumi.Context, cfg *stackconfig.Config, expiry stackexpiry.Expiry, outputs pulumi.Map) (*kubernetes.Provider, placement, error) {
	var place placement
	switch cfg.Mode {
	case stackconfig.ModeEKS:
		cluster, err := ekscluster.NewCluster(ctx, "locust", eksClusterArgs(cfg.EKS, cfg.Locust, ctx.Stack(), expiry))
		if err != nil {
			return nil, place, err
		}
		taint := ekscluster.WorkerTaint
		place.master = components.Placement{NodeSelector: cluster.SystemNodeSelector}
		place.worker = components.Placement{
			NodeSelector: cluster.WorkerNodeSelector,
			Tolerations:  []components.Toleration{{Key: taint.Key, Operator: "Equal", Value: taint.Value, Effect: taint.Effect}},
		}
		outputs["nodePlan"] = cluster.Plan.Map()
		outputs["estimatedHourlyCost"] = cluster.Cost.Map()
		if err := ctx.Log.Info(cluster.Cost.String(), nil); err != nil {
			return nil, place, err
		}
		outputs["clusterName"] = cluster.ClusterName
		outputs["kubeconfig"] = cluster.Kubeconfig
		if cfg.EKS.Network.VpcID == "" {
			outputs["egressIps"] = cluster.EgressIPs
		}
		return cluster.Provider, place, nil
	case stackconfig.ModeExisting:
		provider, err := existingClusterProvider(ctx, cfg.Existing)
		if err != nil {
			return nil, place, err
		}
		place.nodeSelector = cfg.Existing.NodeSelector
		place.master = components.Placement{NodeSelector: cfg.Existing.MasterNodeSelector}
		place.worker = components.Placement{NodeSelector: cfg.Existing.WorkerNodeSelector, Tolerations: cfg.Existing.WorkerTolerations}
		outputs["kubeContext"] = pulumi.String(cfg.Existing.Context)
		return provider, place, nil
	}
	return nil, place, fmt.Errorf("stack mode %q is neither EKS nor an existing cluster", cfg.Mode)
}

// addLocustOutputs adds what users and cmd/loadtest read of the Locust
// deployment: its masters and workers, the load test's parameters, the web
// UI's login and address.
func addLocustOutputs(outputs pulumi.Map, locust *components.LocustCluster, cfg *stackconfig.Config) {
	outputs["namespace"] = locust.Namespace
	outputs["masterService"] = locust.MasterServiceName
	outputs["masterAddress"] = locust.MasterAddress
	outputs["portForwardCommand"] = locust.PortForwardCommand
	outputs["workers"] = locust.Workers
	outputs["shards"] = locust.ShardCount
	outputs["shardMasterServices"] = locust.ShardMasterServiceNames
	outputs["shardWorkers"] = locust.ShardWorkers
	outputs["image"] = locust.Image
	outputs["loadTest"] = loadTestOutput(cfg.LoadTest)
	if l := cfg.Locust.WebLogin; l != nil {
		outputs["webUsername"] = pulumi.String(l.Username)
		outputs["webPassword"] = pulumi.ToSecret(pulumi.String(l.Password))
	}
	if e := cfg.Locust.WebExposure; e != nil {
		outputs["webAddress"] = locust.WebAddress
		outputs["webPath"] = locust.WebPath
		if e.Kind == stackconfig.ExposeLoadBalancer {
			outputs["webLoadBalancerHostname"] = locust.WebLoadBalancerHostname
		}
		if e.TLSCertificate != "" {
			outputs["webTlsCertificate"] = pulumi.String(e.TLSCertificate)
		}
	}
}

// now is the clock the EKS version check reads when EKS cannot be asked;
// tests stop it, so that no test depends on the day it runs.
var now = time.Now

// endpointCheck tells whether this machine reaches the cluster's API; tests
// replace it, since mocked clusters have no endpoint to dial.
var endpointCheck = ekscluster.DialEndpoint

func eksClusterArgs(c stackconfig.EKSCluster, l stackconfig.Locust, stack string, expiry stackexpiry.Expiry) *ekscluster.ClusterArgs {
	var volatile map[string]string
	if !expiry.At.IsZero() {
		volatile = map[string]string{ExpiresAtTag: expiry.String()}
	}
	return &ekscluster.ClusterArgs{
		Name:              c.Name,
		KubernetesVersion: c.KubernetesVersion,
		LogTypes:          c.LogTypes,
		PublicAccessCIDRs: c.PublicAccessCIDRs,
		AdminARNs:         c.AdminARNs,
		CreatorARN:        c.CreatorARN,
		Credentials:       c.Credentials,
		CheckEndpoint:     endpointCheck,
		Network: ekscluster.NetworkArgs{
			VpcID:             c.Network.VpcID,
			PublicSubnetIDs:   c.Network.PublicSubnetIDs,
			PrivateSubnetIDs:  c.Network.PrivateSubnetIDs,
			CIDR:              c.Network.CIDR,
			AvailabilityZones: c.Network.AvailabilityZones,
			NATGatewayPerAZ:   c.Network.NATGatewayPerAZ,
		},
		SystemInstanceTypes:  c.SystemInstanceTypes,
		Now:                  now(),
		MaxHourlyCost:        c.MaxHourlyCost,
		NetworkLoadBalancers: networkLoadBalancers(l.WebExposure),
		Demand: ekscluster.Demand{
			Workers: l.Workers,
			Worker:  ekscluster.Request{CPU: l.Worker.CPURequest, Memory: l.Worker.MemoryRequest},
			Masters: masterRequests(l.ShardMasters),
		},
		NodeGroup: ekscluster.NodeGroupArgs{
			InstanceTypes: c.NodeGroup.InstanceTypes,
			CapacityType:  c.NodeGroup.CapacityType,
			MinSize:       c.NodeGroup.MinSize,
			DesiredSize:   c.NodeGroup.DesiredSize,
			MaxSize:       c.NodeGroup.MaxSize,
			DiskSizeGiB:   c.NodeGroup.DiskSizeGiB,
		},
		Tags:         stackTags(stack),
		VolatileTags: volatile,
	}
}

// masterRequests are every shard's master's requests, for the node plan.
func masterRequests(masters []components.Resources) []ekscluster.Request {
	out := make([]ekscluster.Request, len(masters))
	for i, m := range masters {
		out[i] = ekscluster.Request{CPU: m.CPURequest, Memory: m.MemoryRequest}
	}
	return out
}

// existingClusterProvider reaches a cluster the stack does not own. Nothing
// on AWS is created in this mode.
func existingClusterProvider(ctx *pulumi.Context, c stackconfig.ExistingCluster) (*kubernetes.Provider, error) {
	args := &kubernetes.ProviderArgs{}
	if c.Kubeconfig != "" {
		path, err := expandHome(c.Kubeconfig)
		if err != nil {
			return nil, err
		}
		args.Kubeconfig = pulumi.String(path)
	}
	if c.Context != "" {
		args.Context = pulumi.String(c.Context)
	}
	return kubernetes.NewProvider(ctx, "existing-cluster", args)
}

// expandHome turns a leading ~/ into the home directory, as a shell would;
// the Kubernetes provider takes paths literally.
func expandHome(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, rest), nil
}

// ExpiresAtTag carries the stack's expiry (ttlHours) on its AWS resources,
// for AWS-side clean-up tools; the results bucket, which outlives the
// stack, does not carry it.
const ExpiresAtTag = "expires-at"

// stackTags go on every AWS resource of the stack: cost reports and
// clean-up scripts find a stack's resources by them.
func stackTags(stack string) map[string]string {
	return map[string]string{"project": stackconfig.Project, "stack": stack}
}

// placement is where the cluster puts the Locust pods: in eks mode on the
// stack's node groups, in existing mode where the config says.
type placement struct {
	nodeSelector   map[string]string
	master, worker components.Placement
}

func locustClusterArgs(l stackconfig.Locust, files map[string]string, place placement) *components.LocustClusterArgs {
	env := make([]components.EnvVar, len(l.Env))
	for i, e := range l.Env {
		env[i] = components.EnvVar{Name: e.Name, Value: pulumi.String(e.Value)}
	}
	secretEnv := make([]components.EnvVar, len(l.SecretEnv))
	for i, e := range l.SecretEnv {
		secretEnv[i] = components.EnvVar{Name: e.Name, Value: pulumi.ToSecret(pulumi.String(e.Value)).(pulumi.StringOutput)}
	}
	var login *components.WebLogin
	if l.WebLogin != nil {
		login = &components.WebLogin{Username: l.WebLogin.Username, Password: pulumi.ToSecret(pulumi.String(l.WebLogin.Password)).(pulumi.StringOutput)}
	}
	return &components.LocustClusterArgs{
		WebLogin:        login,
		Namespace:       l.Namespace,
		CreateNamespace: l.CreateNamespace,
		Locustfiles:     files,
		Run:             l.Locustfiles,
		TargetHost:      pulumi.String(l.TargetHost),
		Image:           l.Image,
		Workers:         l.Workers,
		Shards:          l.Shards,
		Env:             env,
		SecretEnv:       secretEnv,
		MasterResources: &l.Master,
		// Each shard's own, sized for its workers where a request is empty.
		ShardMasterResources: l.ShardMasters,
		WorkerResources:      &l.Worker,
		NodeSelector:         place.nodeSelector,
		Master:               place.master,
		Worker:               place.worker,
		EgressCIDRs:          l.EgressCIDRs,
		MetricsNamespaces:    l.MetricsNamespaces,
		ServiceMonitor:       serviceMonitor(l),
		WebExposure:          webExposure(l.WebExposure),
	}
}

// networkLoadBalancers counts the NLBs the Kubernetes objects ask AWS for.
func networkLoadBalancers(e *stackconfig.WebExposure) int {
	if e != nil && e.Kind == stackconfig.ExposeLoadBalancer {
		return 1
	}
	return 0
}

// webExposure is the exposure the config asks for, or nil (private).
func webExposure(e *stackconfig.WebExposure) *components.WebExposure {
	if e == nil {
		return nil
	}
	out := &components.WebExposure{SourceRanges: e.SourceRanges}
	if e.Kind == stackconfig.ExposeLoadBalancer {
		out.LoadBalancer = &components.WebLoadBalancer{InternetFacing: e.InternetFacing, CertificateARN: e.CertificateARN, Hostname: e.Hostname}
		if e.TLSCertificate != "" {
			out.LoadBalancer.TLS = &components.WebTLS{CertificatePEM: e.TLSCertificate, KeyPEM: pulumi.ToSecret(pulumi.String(e.TLSKey)).(pulumi.StringOutput)}
		}
		return out
	}
	out.Ingress = &components.WebIngress{
		ClassName: e.IngressClass, Host: e.IngressHost, Path: e.Path,
		ControllerNamespace: e.IngressControllerNamespace, TLSSecret: e.IngressTLSSecret, Annotations: e.IngressAnnotations,
	}
	return out
}

// serviceMonitor is the ServiceMonitor the config asks for, or nil.
func serviceMonitor(l stackconfig.Locust) *components.ServiceMonitor {
	if !l.ServiceMonitor {
		return nil
	}
	return &components.ServiceMonitor{Labels: l.ServiceMonitorLabels}
}

// loadTestOutput hands the stack's load-test parameters and thresholds to
// cmd/loadtest, which reads them from the stack's outputs.
func loadTestOutput(lt stackconfig.LoadTest) pulumi.Map {
	return pulumi.Map{
		"users":            pulumi.Int(lt.Users),
		"spawnRate":        pulumi.Int(lt.SpawnRate),
		"runTime":          pulumi.String(lt.RunTime.String()),
		"maxFailRatio":     pulumi.Float64(lt.MaxFailRatio),
		"maxP95Ms":         pulumi.Int(lt.MaxP95Ms),
		"maxP99Ms":         pulumi.Int(lt.MaxP99Ms),
		"minRps":           pulumi.Int(lt.MinRPS),
		"maxRegressionPct": pulumi.Int(lt.MaxRegressionPct),
	}
}
