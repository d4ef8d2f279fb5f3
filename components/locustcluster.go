// Package components holds the reusable Pulumi components of this project.
//
// LocustCluster deploys distributed Locust (one master, N workers) into any
// Kubernetes cluster reachable through a Kubernetes provider: EKS, kind,
// minikube or any conformant cluster. It knows nothing about AWS.
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
	if c.Locustfiles, err = r.locustfiles(namespace, spec.files); err != nil {
		return nil, err
	}
	if len(args.SecretEnv) > 0 {
		if c.SecretEnv, err = r.secretEnv(namespace, args.SecretEnv); err != nil {
			return nil, err
		}
	}
	if args.WebLogin != nil {
		if c.WebLoginSecret, err = r.webLoginSecret(namespace, args.WebLogin); err != nil {
			return nil, err
		}
	}
	if t := spec.exposure.ownTLS(); t != nil {
		if c.WebTLSSecret, err = r.webTLSSecret(namespace, t); err != nil {
			return nil, err
		}
	}
	if c.MasterService, err = r.masterService(namespace); err != nil {
		return nil, err
	}
	masterAddress := pulumi.Sprintf("%s.%s.svc", c.MasterService.Metadata.Name().Elem(), namespace)
	if c.Master, err = r.master(namespace, c.Locustfiles, c.SecretEnv, c.WebLoginSecret, c.WebTLSSecret); err != nil {
		return nil, err
	}
	if c.Worker, err = r.worker(namespace, args.Workers, masterAddress, c.Locustfiles, c.SecretEnv, c.MasterService); err != nil {
		return nil, err
	}
	if c.MasterDisruptionBudget, err = r.disruptionBudget(namespace, "master", pulumi.Int(0), c.Master); err != nil {
		return nil, err
	}
	if c.WorkerDisruptionBudget, err = r.disruptionBudget(namespace, "worker", pulumi.String("10%"), c.Worker); err != nil {
		return nil, err
	}
	if c.NetworkPolicies, err = r.networkPolicies(namespace); err != nil {
		return nil, err
	}
	if args.ServiceMonitor != nil {
		if c.ServiceMonitor, err = r.serviceMonitor(namespace, args.ServiceMonitor, c.MasterService); err != nil {
			return nil, err
		}
	}

	c.WebAddress = pulumi.String("").ToStringOutput()
	c.WebLoadBalancerHostname = pulumi.String("").ToStringOutput()
	if e := spec.exposure; e != nil {
		if e.LoadBalancer != nil {
			if c.WebService, err = r.webLoadBalancer(namespace, e, c.Master); err != nil {
				return nil, err
			}
			c.WebLoadBalancerHostname = loadBalancerHostname(c.WebService)
		} else if c.WebIngress, err = r.webIngress(namespace, e.Ingress, c.MasterService); err != nil {
			return nil, err
		}
		c.WebAddress = webAddress(e, c.WebService, c.WebIngress)
	}

	c.Namespace = namespace
	c.MasterServiceName = c.MasterService.Metadata.Name().Elem()
	c.MasterAddress = masterAddress
	c.PortForwardCommand = pulumi.Sprintf("kubectl port-forward --namespace %s service/%s %d:%d",
		namespace, c.MasterServiceName, WebPort, WebPort)
	c.WebPath = pulumi.String(spec.exposure.basePath()).ToStringOutput()
	c.Workers = pulumi.Int(args.Workers).ToIntOutput()
	c.Image = pulumi.String(spec.image).ToStringOutput()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"namespace":               c.Namespace,
		"masterServiceName":       c.MasterServiceName,
		"masterAddress":           c.MasterAddress,
		"portForwardCommand":      c.PortForwardCommand,
		"webAddress":              c.WebAddress,
		"webLoadBalancerHostname": c.WebLoadBalancerHostname,
		"webPath":                 c.WebPath,
		"workers":                 c.Workers,
		"image":                   c.Image,
	}); err != nil {
		return nil, err
	}
	return c, nil
}
