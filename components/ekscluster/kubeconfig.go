package ekscluster

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Credentials are how the AWS provider authenticates, from the stack's
// aws:region, aws:profile and aws:assumeRole config.
type Credentials struct {
	Region  string
	Profile string
	RoleARN string
}

func (c Credentials) withoutProfile() Credentials {
	c.Profile = ""
	return c
}

// kubeconfig builds a kubeconfig for cluster that gets its token from
// `aws eks get-token` with the same region, profile and role as the AWS
// provider, so the Kubernetes API sees the identity that created the cluster
// or holds an access entry. `--role-arn` and `--profile` are the options of
// the AWS CLI's get-token (docs.aws.amazon.com/cli/latest/reference/eks/get-token.html);
// the exec API version is the one `aws eks update-kubeconfig` writes.
func kubeconfig(cluster awseks.ClusterOutput, creds Credentials) pulumi.StringOutput {
	return pulumi.All(cluster.Name(), cluster.Endpoint(), cluster.CertificateAuthority().Data().Elem()).ApplyT(
		func(v []any) (string, error) {
			name, endpoint, ca := v[0].(string), v[1].(string), v[2].(string)
			args := []string{}
			if creds.Region != "" {
				args = append(args, "--region", creds.Region)
			}
			args = append(args, "eks", "get-token", "--cluster-name", name, "--output", "json")
			if creds.RoleARN != "" {
				args = append(args, "--role-arn", creds.RoleARN)
			}
			if creds.Profile != "" {
				args = append(args, "--profile", creds.Profile)
			}
			cfg := map[string]any{
				"apiVersion":      "v1",
				"kind":            "Config",
				"current-context": name,
				"clusters":        []any{map[string]any{"name": name, "cluster": map[string]any{"server": endpoint, "certificate-authority-data": ca}}},
				"contexts":        []any{map[string]any{"name": name, "context": map[string]any{"cluster": name, "user": name}}},
				"users": []any{map[string]any{"name": name, "user": map[string]any{"exec": map[string]any{
					"apiVersion": "client.authentication.k8s.io/v1beta1",
					"command":    "aws",
					"args":       args,
				}}}},
			}
			b, err := json.Marshal(cfg)
			return string(b), err
		}).(pulumi.StringOutput)
}

// checkedKubeconfig is config once check has found the cluster's endpoint
// reachable. For an existing cluster the endpoint is known at preview, so an
// unreachable API fails the preview instead of every Kubernetes object
// timing out minutes into an update.
func checkedKubeconfig(cluster awseks.ClusterOutput, config pulumi.StringOutput, check func(string) error, cidrs []string) pulumi.StringOutput {
	return pulumi.All(cluster.Endpoint(), config).ApplyT(func(v []any) (string, error) {
		endpoint := v[0].(string)
		if err := check(endpoint); err != nil {
			return "", fmt.Errorf("the cluster's API endpoint %s cannot be reached from this machine (%v): publicAccessCidrs %v must include "+
				"this machine's egress address (GitHub-hosted runners have no fixed range: keep 0.0.0.0/0, which still requires IAM "+
				"authentication, or run CI on a self-hosted runner inside the VPC)", endpoint, err, cidrs)
		}
		return v[1].(string), nil
	}).(pulumi.StringOutput)
}

// DialEndpoint opens and closes a TCP connection to an https endpoint's
// host and port, within 10 seconds.
func DialEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
