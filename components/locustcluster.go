// Package components holds the reusable Pulumi components of this project.
//
// LocustCluster deploys distributed Locust (one master and N workers, or
// several such shards) into any Kubernetes cluster reachable through a
// Kubernetes provider: EKS, kind, minikube or any conformant cluster. It
// knows nothing about AWS.
package components

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewLocustCluster creates the Locust master and workers on the Kubernetes
// cluster of the provider passed in opts (pulumi.Provider or pulumi.Providers).
func NewLocustCluster(ctx *pulumi.Context, name string, args *LocustClusterArgs, opts ...pulumi.ResourceOption) (*LocustCluster, error) {
	if args == nil {
		return nil, fmt.Errorf("LocustCluster %q: args are required", name)
	}
	spec, err := newClusterSpec(name, args)
	if err != nil {
		return nil, fmt.Errorf("LocustCluster %q: %w", name, err)
	}

	c := &LocustCluster{}
	if err := ctx.RegisterComponentResource(LocustClusterType, name, c, opts...); err != nil {
		return nil, err
	}
	r := resourceBuilder{ctx: ctx, spec: spec, parent: pulumi.Parent(c)}

	namespace := pulumi.String(spec.namespace).ToStringOutput()
	if args.CreateNamespace {
		if c.NamespaceResource, err = r.namespace(); err != nil {
			return nil, err
		}
		namespace = c.NamespaceResource.Metadata.Name().Elem()
	}
	if err := r.podInputs(c, namespace, args); err != nil {
		return nil, err
	}
	for i := range spec.instances {
		shard, err := resourceBuilder{ctx: ctx, spec: spec.shard(i), parent: r.parent}.shard(namespace, c, spec.shardWorkers[i])
		if err != nil {
			return nil, err
		}
		c.Shards = append(c.Shards, shard)
	}
	shard0 := c.Shards[0]
	c.Master, c.MasterService, c.Worker = shard0.Master, shard0.MasterService, shard0.Worker
	c.MasterDisruptionBudget, c.WorkerDisruptionBudget = shard0.MasterDisruptionBudget, shard0.WorkerDisruptionBudget
	if c.NetworkPolicies, err = r.networkPolicies(namespace); err != nil {
		return nil, err
	}
	if args.ServiceMonitor != nil {
		if c.ServiceMonitor, err = r.serviceMonitor(namespace, args.ServiceMonitor, c.MasterService); err != nil {
			return nil, err
		}
	}

	if err := r.webExposure(c, namespace); err != nil {
		return nil, err
	}
	c.setOutputs(namespace, args, spec)

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"namespace":               c.Namespace,
		"masterServiceName":       c.MasterServiceName,
		"masterAddress":           c.MasterAddress,
		"portForwardCommand":      c.PortForwardCommand,
		"webAddress":              c.WebAddress,
		"webLoadBalancerHostname": c.WebLoadBalancerHostname,
		"webPath":                 c.WebPath,
		"workers":                 c.Workers,
		"shards":                  c.ShardCount,
		"shardMasterServiceNames": c.ShardMasterServiceNames,
		"shardWorkers":            c.ShardWorkers,
		"image":                   c.Image,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// podInputs creates what the pods mount besides their spec: the
// locustfiles' ConfigMap, and the Secrets of the locustfiles' environment,
// the web login and the web UI's own TLS certificate when the args ask for
// them.
func (r resourceBuilder) podInputs(c *LocustCluster, namespace pulumi.StringOutput, args *LocustClusterArgs) error {
	var err error
	if c.Locustfiles, err = r.locustfiles(namespace, r.spec.files); err != nil {
		return err
	}
	if len(args.SecretEnv) > 0 {
		if c.SecretEnv, err = r.secretEnv(namespace, args.SecretEnv); err != nil {
			return err
		}
	}
	if args.WebLogin != nil {
		if c.WebLoginSecret, err = r.webLoginSecret(namespace, args.WebLogin); err != nil {
			return err
		}
	}
	if t := r.spec.exposure.ownTLS(); t != nil {
		if c.WebTLSSecret, err = r.webTLSSecret(namespace, t); err != nil {
			return err
		}
	}
	return nil
}

// webExposure creates the web UI's LoadBalancer Service or Ingress when the
// spec exposes it, and sets c's web address outputs (empty when private).
func (r resourceBuilder) webExposure(c *LocustCluster, namespace pulumi.StringOutput) error {
	var err error
	c.WebAddress = pulumi.String("").ToStringOutput()
	c.WebLoadBalancerHostname = pulumi.String("").ToStringOutput()
	if e := r.spec.exposure; e != nil {
		if e.LoadBalancer != nil {
			if c.WebService, err = r.webLoadBalancer(namespace, e, c.Master); err != nil {
				return err
			}
			c.WebLoadBalancerHostname = loadBalancerHostname(c.WebService)
		} else if c.WebIngress, err = r.webIngress(namespace, e.Ingress, c.MasterService); err != nil {
			return err
		}
		c.WebAddress = webAddress(e, c.WebService, c.WebIngress)
	}
	return nil
}

// setOutputs sets c's outputs from its created resources: shard 0's
// master for the single-master outputs, and every shard's.
func (c *LocustCluster) setOutputs(namespace pulumi.StringOutput, args *LocustClusterArgs, spec *clusterSpec) {
	shard0 := c.Shards[0]
	c.Namespace = namespace
	c.MasterServiceName = c.MasterService.Metadata.Name().Elem()
	c.MasterAddress = shard0.MasterAddress
	c.PortForwardCommand = pulumi.Sprintf("kubectl port-forward --namespace %s service/%s %d:%d",
		namespace, c.MasterServiceName, WebPort, WebPort)
	c.WebPath = pulumi.String(spec.exposure.basePath()).ToStringOutput()
	c.Workers = pulumi.Int(args.Workers).ToIntOutput()
	c.ShardCount = pulumi.Int(len(c.Shards)).ToIntOutput()
	names, workers := pulumi.StringArray{}, pulumi.IntArray{}
	for _, shard := range c.Shards {
		names = append(names, shard.MasterService.Metadata.Name().Elem())
		workers = append(workers, pulumi.Int(shard.Workers))
	}
	c.ShardMasterServiceNames = names.ToStringArrayOutput()
	c.ShardWorkers = workers.ToIntArrayOutput()
	c.Image = pulumi.String(spec.image).ToStringOutput()
}

// shard creates one master, its Service and its workers, which reach it
// through the Service, and both roles' disruption budgets; r's spec is the
// shard's (clusterSpec.shard).
func (r resourceBuilder) shard(namespace pulumi.StringOutput, c *LocustCluster, workers int) (Shard, error) {
	s := Shard{Workers: workers}
	var err error
	if s.MasterService, err = r.masterService(namespace); err != nil {
		return s, err
	}
	s.MasterAddress = pulumi.Sprintf("%s.%s.svc", s.MasterService.Metadata.Name().Elem(), namespace)
	if s.Master, err = r.master(namespace, c.Locustfiles, c.SecretEnv, c.WebLoginSecret, c.WebTLSSecret); err != nil {
		return s, err
	}
	if s.Worker, err = r.worker(namespace, workers, s.MasterAddress, c.Locustfiles, c.SecretEnv, s.MasterService); err != nil {
		return s, err
	}
	if s.MasterDisruptionBudget, err = r.disruptionBudget(namespace, "master", pulumi.Int(0), s.Master); err != nil {
		return s, err
	}
	if s.WorkerDisruptionBudget, err = r.disruptionBudget(namespace, "worker", pulumi.String("10%"), s.Worker); err != nil {
		return s, err
	}
	return s, nil
}
