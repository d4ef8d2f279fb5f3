package stackconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/components"
)

const projectDir = ".."

var available = []string{"bookinfo.py", "cloud_carbon_footprint.py", "quarkus_super_heroes.py"}

// stackValues returns what `pulumi up` would hand the program for a stack.
func stackValues(t *testing.T, stack string) map[string]string {
	t.Helper()
	values, err := ReadStack(projectDir, stack)
	if err != nil {
		t.Fatal(err)
	}
	return values
}

// lookupIn serves values as a stack would, with secretEnv stored encrypted
// as `pulumi config set --secret` does.
func lookupIn(values map[string]string) Lookup {
	return func(key string) (string, bool, bool) {
		v, ok := values[key]
		return v, ok, key == "secretEnv" || key == "webPassword" || key == "webTlsKey"
	}
}

func TestEveryStackFileLoadsAndValidates(t *testing.T) {
	stacks, err := Stacks(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dev", "prod", "local"} {
		if !slices.Contains(stacks, want) {
			t.Errorf("Pulumi.%s.yaml is missing; found stacks %v", want, stacks)
		}
	}
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			if _, err := Parse(lookupIn(stackValues(t, stack)), nil, available); err != nil {
				t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
			}
		})
	}
}

func TestStackFilesDiffer(t *testing.T) {
	dev, err := Parse(lookupIn(stackValues(t, "dev")), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Parse(lookupIn(stackValues(t, "prod")), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	local, err := Parse(lookupIn(stackValues(t, "local")), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Mode != ModeEKS || prod.Mode != ModeEKS || local.Mode != ModeExisting {
		t.Errorf("modes: dev %s, prod %s, local %s; want eks, eks, existing", dev.Mode, prod.Mode, local.Mode)
	}
	if dev.EKS.NodeGroup.CapacityType != "SPOT" || prod.EKS.NodeGroup.CapacityType != "ON_DEMAND" {
		t.Errorf("capacity: dev %s, prod %s; want SPOT and ON_DEMAND", dev.EKS.NodeGroup.CapacityType, prod.EKS.NodeGroup.CapacityType)
	}
	if dev.Locust.Workers >= prod.Locust.Workers {
		t.Errorf("workers: dev %d, prod %d; dev should be the smaller", dev.Locust.Workers, prod.Locust.Workers)
	}
}

// TestDefaultsComeFromPulumiYAML checks the parsed defaults against the
// declarations, so that the values documented in Pulumi.yaml are the ones used.
func TestDefaultsComeFromPulumiYAML(t *testing.T) {
	values := stackValues(t, "dev")
	cfg, err := Parse(lookupIn(values), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	// Keys dev.yaml leaves alone keep Pulumi.yaml's defaults.
	if got := cfg.Locust.Image; got != "locustio/locust:2.46.7" {
		t.Errorf("image = %q, want the Pulumi.yaml default locustio/locust:2.46.7", got)
	}
	if got := cfg.EKS.Network.CIDR.String(); got != "10.0.0.0/16" {
		t.Errorf("vpcCidr = %s, want the default 10.0.0.0/16", got)
	}
	if got := cfg.EKS.KubernetesVersion; got != "1.35" {
		t.Errorf("kubernetesVersion = %s, want the default 1.35", got)
	}
	if cfg.Locust.Worker.CPURequest != "1" || cfg.Locust.Worker.CPULimit != "" {
		t.Errorf("worker cpu = %q/%q, want request 1 and no limit", cfg.Locust.Worker.CPURequest, cfg.Locust.Worker.CPULimit)
	}
}

// TestEveryKeyIsDeclaredAndRead ties Pulumi.yaml to the parser both ways: a
// key read but not declared would have no default under `pulumi up`, a key
// declared but never read would be documented and ignored.
func TestEveryKeyIsDeclaredAndRead(t *testing.T) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, stack := range []string{"dev", "local"} {
		values := stackValues(t, stack)
		for _, vpc := range []string{"", "vpc-0a1b2c3d4e5f67890"} {
			values["vpcId"] = vpc
			_, _ = Parse(func(key string) (string, bool, bool) {
				read[key] = true
				v, ok := values[key]
				return v, ok, false
			}, nil, available)
		}
	}
	for key := range read {
		if strings.Contains(key, ":") {
			continue // another provider's key, like aws:region
		}
		if _, ok := decls[key]; !ok {
			t.Errorf("the program reads %q, which Pulumi.yaml does not declare", key)
		}
	}
	for key, d := range decls {
		if !read[key] {
			t.Errorf("Pulumi.yaml declares %q, which the program never reads", key)
		}
		if d.Description == "" || d.Type == "" || d.Default == nil {
			t.Errorf("Pulumi.yaml: %q needs a type, a default and a description", key)
		}
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		set     map[string]string
		key     string
		value   string // as the message quotes it
		allowed string // a phrase of what is allowed
	}{
		{"zero workers", "dev", map[string]string{"workers": "0"}, "workers", `"0"`, "from 1 to 10000 (with shards unset, up to 10 shards of 1000)"},
		{"negative workers", "dev", map[string]string{"workers": "-3"}, "workers", `"-3"`, "from 1 to 10000"},
		{"zero workers with shards", "dev", map[string]string{"workers": "0", "shards": "2"}, "workers", `"0"`, "from 2 to 2000 with shards 2"},
		{"more workers than one master was measured holding", "dev", map[string]string{"workers": "1001", "shards": "1"}, "workers", `"1001"`,
			"must be at most 1000 with shards 1: one Locust master was measured holding 1000 workers (docs/performance.md, How many workers one master holds)"},
		{"more workers than the shards' masters hold", "dev", map[string]string{"workers": "2001", "shards": "2"}, "workers", `"2001"`,
			"must be at most 2000 with shards 2: one Locust master was measured holding 1000 workers (docs/performance.md, How many workers one master holds), not more. Raise shards (up to 10)"},
		{"more workers than the most shards hold", "dev", map[string]string{"workers": "10001"}, "workers", `"10001"`,
			"must be at most 10000 with shards unset: one Locust master was measured holding 1000 workers"},
		{"fewer workers than shards", "dev", map[string]string{"workers": "2", "shards": "3"}, "workers", `"2"`, "must be at least 3 with shards 3: every shard needs a worker"},
		{"cpu limit below shard 0's sized request", "dev", map[string]string{"workers": "1500", "masterCpuLimit": "500m"}, "masterCpuLimit", `"500m"`, "below masterCpuRequest (700m, sized for 750 workers"},
		{"too many shards", "dev", map[string]string{"shards": "11"}, "shards", `"11"`, "from 0 to 10"},
		{"negative shards", "dev", map[string]string{"shards": "-1"}, "shards", `"-1"`, "from 0 to 10"},
		{"shards not a number", "dev", map[string]string{"shards": "two"}, "shards", `"two"`, "whole number"},
		{"exposure with shards", "dev", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "webExposure": "loadBalancer", "shards": "2"},
			"webExposure", `"loadBalancer"`, "must be private when there is more than one shard (shards is 2): one web UI shows one master's test; drive the shards with cmd/loadtest"},
		{"exposure with planned shards", "local", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "webExposure": "ingress", "webIngressClass": "nginx", "webIngressControllerNamespace": "ingress-nginx", "webPlainHttp": "true", "workers": "1001"},
			"webExposure", `"ingress"`, "must be private when there is more than one shard (shards, unset, is planned as 2 from workers 1001)"},
		{"workers not a number", "dev", map[string]string{"workers": "many"}, "workers", `"many"`, "whole number"},
		{"min above max nodes", "dev", map[string]string{"nodeMinSize": "5", "nodeDesiredSize": "5", "nodeMaxSize": "3"}, "nodeMinSize", `5`, "must not exceed nodeMaxSize (3)"},
		{"desired outside range", "dev", map[string]string{"nodeDesiredSize": "9"}, "nodeDesiredSize", `9`, "from nodeMinSize (1) to nodeMaxSize (3)"},
		{"unknown capacity type", "dev", map[string]string{"nodeCapacityType": "RESERVED"}, "nodeCapacityType", `"RESERVED"`, "one of ON_DEMAND, SPOT"},
		{"lower-case capacity type", "dev", map[string]string{"nodeCapacityType": "spot"}, "nodeCapacityType", `"spot"`, "one of ON_DEMAND, SPOT"},
		{"unknown locustfile", "dev", map[string]string{"locustfiles": `["shop.py"]`}, "locustfiles", `"shop.py"`, "bookinfo.py, cloud_carbon_footprint.py, quarkus_super_heroes.py"},
		{"no locustfile", "dev", map[string]string{"locustfiles": `[]`}, "locustfiles", `[]`, "one or more of the files in locustfiles/"},
		{"locustfile twice", "dev", map[string]string{"locustfiles": `["bookinfo.py","bookinfo.py"]`}, "locustfiles", `"bookinfo.py"`, "only once"},
		{"malformed CIDR", "dev", map[string]string{"publicAccessCidrs": `["10.0.0.0/33"]`}, "publicAccessCidrs", `"10.0.0.0/33"`, "IPv4 CIDR"},
		{"CIDR with host bits", "dev", map[string]string{"publicAccessCidrs": `["198.51.100.7/24"]`}, "publicAccessCidrs", `"198.51.100.7/24"`, "no host bits"},
		{"VPC CIDR too small", "dev", map[string]string{"vpcCidr": "10.0.0.0/24"}, "vpcCidr", `"10.0.0.0/24"`, "/16 to /20"},
		{"missing target host", "dev", map[string]string{"targetHost": ""}, "targetHost", `""`, "base URL"},
		{"target host without scheme", "dev", map[string]string{"targetHost": "shop.example.com"}, "targetHost", `"shop.example.com"`, "http or https"},
		{"target host with credentials", "dev", map[string]string{"targetHost": "https://u:p@shop.example.com"}, "targetHost", `"https://u:p@shop.example.com"`, "no credentials"},
		{"bad image reference", "dev", map[string]string{"image": "Locust IO/locust"}, "image", `"Locust IO/locust"`, "pinned by tag or digest"},
		{"unpinned image", "dev", map[string]string{"image": "locustio/locust"}, "image", `"locustio/locust"`, "pinned by tag or digest"},
		{"latest image", "dev", map[string]string{"image": "locustio/locust:latest"}, "image", `"locustio/locust:latest"`, "not :latest"},
		{"unknown cluster mode", "dev", map[string]string{"clusterMode": "gke"}, "clusterMode", `"gke"`, "one of eks, existing"},
		{"bad Kubernetes version", "dev", map[string]string{"kubernetesVersion": "1.34.2"}, "kubernetesVersion", `"1.34.2"`, `a Kubernetes minor version like "1.35"`},
		{"bad creator ARN", "dev", map[string]string{"clusterCreatorArn": "arn:aws:sts::123456789012:assumed-role/deploy/session"}, "clusterCreatorArn", `"arn:aws:sts::123456789012:assumed-role/deploy/session"`, "the role's ARN, not the session's"},
		{"assumeRole without a role", "dev", map[string]string{"aws:assumeRole": `{"sessionName":"x"}`}, "aws:assumeRole", "a value without a valid roleArn", "must be an object with roleArn"},
		{"static keys in the stack", "dev", map[string]string{"aws:accessKey": "AKIAEXAMPLE"}, "aws:accessKey", "a value (not shown)", "Kubernetes provider's `aws eks get-token` cannot use it"},
		{"web identity in the stack", "dev", map[string]string{"aws:assumeRoleWithWebIdentity": `{"roleArn":"arn:aws:iam::123456789012:role/ci"}`}, "aws:assumeRoleWithWebIdentity", "a value (not shown)", "AWS_WEB_IDENTITY_TOKEN_FILE"},
		{"chained roles", "dev", map[string]string{"aws:assumeRoles": `[{"roleArn":"arn:aws:iam::123456789012:role/a"}]`}, "aws:assumeRoles", "a chain of roles", "use aws:assumeRole"},
		{"unknown log type", "dev", map[string]string{"clusterLogTypes": `["api","kubelet"]`}, "clusterLogTypes", `"kubelet"`, "controllerManager"},
		{"one availability zone", "dev", map[string]string{"availabilityZoneCount": "1"}, "availabilityZoneCount", `"1"`, "from 2 to 6"},
		{"bad instance type", "dev", map[string]string{"nodeInstanceTypes": `["c6i"]`}, "nodeInstanceTypes", `"c6i"`, "EC2 instance type"},
		{"small disk", "dev", map[string]string{"nodeDiskSize": "8"}, "nodeDiskSize", `"8"`, "from 20 to"},
		{"bad VPC id", "dev", map[string]string{"vpcId": "my-vpc", "privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`}, "vpcId", `"my-vpc"`, "VPC id"},
		{"VPC with one subnet", "dev", map[string]string{"vpcId": "vpc-0a1b2c3d", "privateSubnetIds": `["subnet-0a1b2c3d"]`}, "privateSubnetIds", `["subnet-0a1b2c3d"]`, "at least two"},
		{"bad subnet id", "dev", map[string]string{"vpcId": "vpc-0a1b2c3d", "privateSubnetIds": `["subnet-0a1b2c3d","sn-2"]`}, "privateSubnetIds", `"sn-2"`, "subnet id"},
		{"subnets without VPC", "dev", map[string]string{"privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`}, "privateSubnetIds", `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`, "unless vpcId"},
		{"bad namespace", "dev", map[string]string{"namespace": "Load_Test"}, "namespace", `"Load_Test"`, "namespace name"},
		{"bad cpu quantity", "dev", map[string]string{"workerCpuRequest": "one"}, "workerCpuRequest", `"one"`, "Kubernetes quantity"},
		{"zero memory", "dev", map[string]string{"masterMemoryRequest": "0"}, "masterMemoryRequest", `"0"`, "positive"},
		{"limit below request", "dev", map[string]string{"workerMemoryRequest": "2Gi", "workerMemoryLimit": "1500Mi"}, "workerMemoryLimit", `"1500Mi"`, "below workerMemoryRequest (2Gi)"},
		{"cpu limit below request", "dev", map[string]string{"masterCpuRequest": "500m", "masterCpuLimit": "400m"}, "masterCpuLimit", `"400m"`, "below masterCpuRequest (500m)"},
		{"cpu limit below the sized request", "dev", map[string]string{"masterCpuLimit": "200m"}, "masterCpuLimit", `"200m"`, "below masterCpuRequest (250m, sized for 2 workers; set masterCpuRequest to say otherwise)"},
		{"memory limit below the sized request", "dev", map[string]string{"masterMemoryLimit": "256Mi"}, "masterMemoryLimit", `"256Mi"`, "below masterMemoryRequest (512Mi, sized for 2 workers"},
		{"env without value", "dev", map[string]string{"extraEnv": `["API_TOKEN"]`}, "extraEnv", `"API_TOKEN"`, "NAME=value"},
		{"env managed by the stack", "dev", map[string]string{"extraEnv": `["LOCUST_HOST=http://x"]`}, "extraEnv", `"LOCUST_HOST=http://x"`, "set by the component itself"},
		{"env that starts tests on its own", "dev", map[string]string{"extraEnv": `["LOCUST_HEADLESS=true"]`}, "extraEnv", `"LOCUST_HEADLESS=true"`, "refused: the master would start a test at once"},
		{"env that moves the web UI", "dev", map[string]string{"extraEnv": `["LOCUST_WEB_BASE_PATH=/locust"]`}, "extraEnv", `"LOCUST_WEB_BASE_PATH=/locust"`, "where the probes and cmd/loadtest find it"},
		{"secret env that locks the command out", "dev", map[string]string{"secretEnv": `{"LOCUST_WEB_AUTH":"u:p"}`}, "secretEnv", `"LOCUST_WEB_AUTH"`, "refused: basic auth"},
		{"env twice", "dev", map[string]string{"extraEnv": `["A=1","A=2"]`}, "extraEnv", `"A=2"`, "more than once"},
		{"secret env as the old list", "dev", map[string]string{"secretEnv": `["TOKEN=s3cr3t"]`}, "secretEnv", `a value that is not a map of names to values`, "secretEnv.NAME"},
		{"secret env also in extraEnv", "dev", map[string]string{"extraEnv": `["TOKEN=a"]`, "secretEnv": `{"TOKEN":"s3cr3t"}`}, "secretEnv", `"TOKEN"`, "also set in extraEnv"},
		{"secret env managed by the stack", "dev", map[string]string{"secretEnv": `{"LOCUST_HOST":"s3cr3t"}`}, "secretEnv", `"LOCUST_HOST"`, "set by the component itself"},
		{"secret env name too long for a Secret key", "dev", map[string]string{"secretEnv": `{"` + strings.Repeat("T", 254) + `":"s3cr3t"}`}, "secretEnv", `"TTTT`, "no more than 253 characters"},
		{"secret env value not a string", "dev", map[string]string{"secretEnv": `{"PORT":8080}`}, "secretEnv.PORT", "a value that is not a string", "must be a string"},
		{"env name with a space", "dev", map[string]string{"extraEnv": `["MY VAR=1"]`}, "extraEnv", `"MY VAR=1"`, "valid environment variable name"},
		{"image with an upper-case repository", "dev", map[string]string{"image": "locustio/Locust:2.46.3"}, "image", `"locustio/Locust:2.46.3"`, "must be lowercase"},
		{"image latest", "dev", map[string]string{"image": "locustio/locust:latest"}, "image", `"locustio/locust:latest"`, "moving tag latest"},
		{"image without tag", "dev", map[string]string{"image": "locustio/locust"}, "image", `"locustio/locust"`, "no tag or digest"},
		{"node selector key not a qualified name", "local", map[string]string{"nodeSelector": `["-pool=x"]`}, "nodeSelector", `"-pool=x"`, "name part must consist of alphanumeric characters"},
		{"node selector value too long", "local", map[string]string{"nodeSelector": `["pool=` + strings.Repeat("x", 64) + `"]`}, "nodeSelector", `"pool=xxx`, "value: must be no more than 63 characters"},
		{"worker toleration with a bad effect", "local", map[string]string{"workerTolerations": `["pool=load:NoWay"]`}, "workerTolerations", `"pool=load:NoWay"`, "is not NoSchedule"},
		{"worker toleration without a key", "local", map[string]string{"workerTolerations": `[":NoSchedule"]`}, "workerTolerations", `":NoSchedule"`, "key=value:Effect"},
		{"worker node selector in eks mode", "dev", map[string]string{"workerNodeSelector": `["pool=x"]`}, "workerNodeSelector", `["pool=x"]`, "tainted worker node group"},
		{"metrics namespace not a namespace name", "dev", map[string]string{"metricsNamespaces": `["Monitoring"]`}, "metricsNamespaces", `"Monitoring"`, "may scrape the master's /metrics"},
		{"service monitor label without a value", "dev", map[string]string{"serviceMonitor": "true", "serviceMonitorLabels": `["release"]`}, "serviceMonitorLabels", `"release"`, "a Kubernetes label as key=value"},
		{"service monitor labels without the monitor", "dev", map[string]string{"serviceMonitorLabels": `["release=prom"]`}, "serviceMonitorLabels", `["release=prom"]`, "unless serviceMonitor is true"},
		{"egress CIDR with host bits", "dev", map[string]string{"egressCidrs": `["10.0.0.1/16"]`}, "egressCidrs", `"10.0.0.1/16"`, "host bits"},
		{"desired size out of range", "dev", map[string]string{"nodeDesiredSize": "7"}, "nodeDesiredSize", `7`, "must be 0 (sized from the workers)"},
		{"no system instance types", "dev", map[string]string{"systemNodeInstanceTypes": `[]`}, "systemNodeInstanceTypes", `[]`, "on-demand node group"},
		{"load-test run time not a duration", "dev", map[string]string{"loadTestRunTime": "5 minutes"}, "loadTestRunTime", `"5 minutes"`, "Go duration from 1s to 24h"},
		{"load-test fail ratio above 1", "dev", map[string]string{"loadTestMaxFailRatio": "5"}, "loadTestMaxFailRatio", `"5"`, "from 0 to 1"},
		{"load-test users zero", "dev", map[string]string{"loadTestUsers": "0"}, "loadTestUsers", `"0"`, "from 1 to 1000000"},
		{"results bucket not an S3 name", "dev", map[string]string{"resultsBucket": "Team_Results"}, "resultsBucket", `"Team_Results"`, "S3 bucket name"},
		{"public endpoint without CIDRs in eks mode", "dev", map[string]string{"publicAccessCidrs": `[]`}, "publicAccessCidrs", `[]`, "because clusterMode is eks"},
		{"list not a list", "dev", map[string]string{"nodeInstanceTypes": `c6i.large`}, "nodeInstanceTypes", `c6i.large`, "list of strings"},
		{"node selector in eks mode", "dev", map[string]string{"nodeSelector": `["pool=locust"]`}, "nodeSelector", `["pool=locust"]`, "must be empty when clusterMode is eks"},
		{"bad node selector", "local", map[string]string{"nodeSelector": `["pool"]`}, "nodeSelector", `"pool"`, "key=value"},
		{"workers zero in existing mode", "local", map[string]string{"workers": "0"}, "workers", `"0"`, "from 1 to 10000"},
		{"bad boolean", "local", map[string]string{"createNamespace": "yes please"}, "createNamespace", `"yes please"`, "true or false"},
		{"bad admin ARN", "dev", map[string]string{"clusterAdminArns": `["ci-preview"]`}, "clusterAdminArns", `"ci-preview"`, "IAM role or user ARN"},
		{"login without a password", "local", map[string]string{"webLogin": "true"}, "webPassword", `""`, "pulumi config set --secret webPassword"},
		{"password without a login", "local", map[string]string{"webPassword": "correct-horse-battery"}, "webPassword", "a value (not shown)", "must be empty unless webLogin is true"},
		{"login on an old Locust", "local", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "image": "locustio/locust:2.12.1"}, "image", `"locustio/locust:2.12.1"`, "has no --web-login"},
		{"login name too long", "local", map[string]string{"webLogin": "true", "webPassword": "correct-horse-battery", "webUsername": strings.Repeat("a", 65)}, "webUsername", `"` + strings.Repeat("a", 65) + `"`, "1 to 64 characters"},
		{"short password", "local", map[string]string{"webLogin": "true", "webPassword": "hunter2"}, "webPassword", "a value (not shown)", "at least 12 characters"},
		{"zero TTL", "dev", map[string]string{"ttlHours": "0"}, "ttlHours", `"0"`, "more than 0 and at most 8760"},
		{"TTL over a year", "local", map[string]string{"ttlHours": "9000"}, "ttlHours", `"9000"`, "like \"8\" or \"0.5\""},
		{"TTL in words", "local", map[string]string{"ttlHours": "8h"}, "ttlHours", `"8h"`, "the hours it may live"},
		{"negative ceiling", "dev", map[string]string{"maxHourlyCost": "-1"}, "maxHourlyCost", `"-1"`, "most the stack may cost per hour, in US dollars"},
		{"ceiling in words", "dev", map[string]string{"maxHourlyCost": "two dollars"}, "maxHourlyCost", `"two dollars"`, "like \"1.50\""},
		{"ceiling with an exponent", "dev", map[string]string{"maxHourlyCost": "1e3"}, "maxHourlyCost", `"1e3"`, "empty (no ceiling)"},
		{"bad cluster name", "prod", map[string]string{"clusterName": "-prod"}, "clusterName", `"-prod"`, "starting with a letter or digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := stackValues(t, tt.stack)
			maps.Copy(values, tt.set)
			cfg, err := Parse(lookupIn(values), nil, available)
			if err == nil {
				t.Fatalf("Parse accepted %v: %+v", tt.set, cfg)
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("error %v is not a *stackconfig.Error", err)
			}
			if len(cfgErr.Problems) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(cfgErr.Problems), err)
			}
			msg := err.Error()
			for _, want := range []string{tt.key + ": got " + tt.value, tt.allowed} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	values := stackValues(t, "dev")
	maps.Copy(values, map[string]string{"workers": "0", "nodeCapacityType": "CHEAP", "targetHost": "", "image": "x y"})
	_, err := Parse(lookupIn(values), nil, available)
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("want *Error, got %v", err)
	}
	var keys []string
	for _, p := range cfgErr.Problems {
		keys = append(keys, p.Key)
	}
	slices.Sort(keys)
	if want := []string{"image", "nodeCapacityType", "targetHost", "workers"}; !slices.Equal(keys, want) {
		t.Errorf("problems for %v, want %v", keys, want)
	}
}

// secretLookup serves values with secretEnv stored encrypted, as Pulumi
// reports a map holding at least one secure entry.
func secretLookup(values map[string]string) Lookup { return lookupIn(values) }

func TestSecretEnv(t *testing.T) {
	values := stackValues(t, "dev")
	values["extraEnv"] = `["USER_COUNT=10"]`
	values["secretEnv"] = `{"API_TOKEN":"s3cr3t=with=equals","B_TOKEN":"x"}`
	cfg, err := Parse(secretLookup(values), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Locust.SecretEnv, []EnvVar{{"API_TOKEN", "s3cr3t=with=equals"}, {"B_TOKEN", "x"}}) || len(cfg.Locust.Env) != 1 {
		t.Errorf("env %v, secret env %v", cfg.Locust.Env, cfg.Locust.SecretEnv)
	}

	// A token set without --secret would sit in plain text in the stack file.
	_, err = Parse(func(key string) (string, bool, bool) {
		v, ok := values[key]
		return v, ok, false
	}, nil, available)
	if err == nil || !strings.Contains(err.Error(), "secretEnv: got plain-text values only; must be stored encrypted") {
		t.Errorf("plain-text secretEnv: %v", err)
	}
}

// TestSecretEnvPlainEntryAmongSecretOnes: Pulumi marks the whole map secret
// when one entry is; the stack file tells which entry is not.
func TestSecretEnvPlainEntryAmongSecretOnes(t *testing.T) {
	dir := t.TempDir()
	stackFile := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(stackFile, []byte(`config:
  aws:region: us-east-1
  locust-eks:secretEnv:
    API_TOKEN:
      secure: v1:AAAABBBBCCCC
    OTHER: plainval
`), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := func(key string) ([]string, bool) { return StackFilePlainEntries(stackFile, key) }
	values := stackValues(t, "dev")
	values["secretEnv"] = `{"API_TOKEN":"tok","OTHER":"plainval"}`
	_, err := Parse(secretLookup(values), plain, available)
	if err == nil || !strings.Contains(err.Error(), "secretEnv.OTHER: got a plain-text value; must be stored encrypted") {
		t.Fatalf("plain entry among secret ones: %v", err)
	}
	if strings.Contains(err.Error(), "API_TOKEN") || strings.Contains(err.Error(), "plainval") {
		t.Errorf("error names the secret entry or shows the plain value: %v", err)
	}

	// All entries secure: accepted.
	if err := os.WriteFile(stackFile, []byte("config:\n  locust-eks:secretEnv:\n    API_TOKEN:\n      secure: v1:AAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	values["secretEnv"] = `{"API_TOKEN":"tok"}`
	if _, err := Parse(secretLookup(values), plain, available); err != nil {
		t.Errorf("all-secure secretEnv refused: %v", err)
	}
	// No file, or the key not in it (an ESC environment): unknown, and the
	// map-level secrecy decides.
	for _, path := range []string{filepath.Join(dir, "missing.yaml"), filepath.Join(projectDir, "Pulumi.dev.yaml")} {
		if names, known := StackFilePlainEntries(path, "secretEnv"); known || names != nil {
			t.Errorf("%s: plain entries %v, known %v; want unknown", path, names, known)
		}
	}
}

// TestSecretEnvErrorsShowNoValue: whatever is wrong with secretEnv, the error
// text is the same whatever the values are, so it cannot carry a byte of one.
func TestSecretEnvErrorsShowNoValue(t *testing.T) {
	for _, raw := range secretEnvSeeds {
		checkSecretEnvErrorIndependentOfValues(t, raw)
	}
}

// secretEnvSeeds are malformed and well-formed secretEnv values; the fuzz
// target starts from them and `go test` runs them as ordinary cases.
var secretEnvSeeds = []string{
	`{"API_TOKEN":"dG9rZW4=="}`,
	`dG9rZW4=AAAA==`,                           // a token set without a name, not a map
	`["API_TOKEN=dG9rZW4=="]`,                  // the old list shape
	`{"dG9rZW4": "dG9rZW4=="}`,                 // fine: the name is whatever the user typed as a path
	`{"LOCUST_HOST":"dG9rZW4=="}`,              // managed name
	`{"1BAD":"dG9rZW4=="}`,                     // invalid name
	`{"A":"x","A B":"dG9rZW4==","C":7}`,        // several problems
	`{"USER_COUNT":"dG9rZW4=="}`,               // also in extraEnv
	`"dG9rZW4=="`,                              // a bare string
	`{"API_TOKEN":{"nested":"dG9rZW4=="}}`,     // a map value
	`{"API_TOKEN":"dG9rZW4==", "":"dG9rZW4="}`, // an empty name
}

// checkSecretEnvErrorIndependentOfValues parses raw, and raw with every
// string value replaced by another of the same length, and wants the same
// outcome and the same error text. If raw is no JSON object, the replacement
// is of raw itself.
func checkSecretEnvErrorIndependentOfValues(t *testing.T, raw string) {
	t.Helper()
	values := stackValues(t, "dev")
	values["extraEnv"] = `["USER_COUNT=10"]`
	parse := func(secretEnv string) string {
		values["secretEnv"] = secretEnv
		_, err := Parse(secretLookup(values), nil, available)
		if err == nil {
			return ""
		}
		return err.Error()
	}
	var other string
	var obj map[string]any
	if json.Unmarshal([]byte(raw), &obj) == nil && obj != nil {
		for k, v := range obj {
			if s, ok := v.(string); ok {
				obj[k] = strings.Repeat("Z", len(s)+1)
			}
		}
		b, _ := json.Marshal(obj)
		other = string(b)
	} else {
		// Not a map: any other non-map must give the same error.
		other = `"` + strings.Repeat("Z", len(raw)) + `"`
		if strings.TrimSpace(raw) == "" {
			other = raw
		}
	}
	got, want := parse(raw), parse(other)
	if got != want {
		t.Errorf("secretEnv %q and %q give different errors, so the error depends on a secret value:\n%s\n---\n%s", raw, other, got, want)
	}
}

func FuzzSecretEnvErrorsShowNoValue(f *testing.F) {
	for _, s := range secretEnvSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		checkSecretEnvErrorIndependentOfValues(t, raw)
	})
}

func TestExistingModeIgnoresEKSKeys(t *testing.T) {
	values := stackValues(t, "local")
	// Values that would be wrong in eks mode do not matter here.
	maps.Copy(values, map[string]string{"publicAccessCidrs": "[]", "nodeCapacityType": "anything", "kubeContext": "kind-locust", "nodeSelector": `["pool=locust"]`})
	cfg, err := Parse(lookupIn(values), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Existing.Context != "kind-locust" || cfg.Existing.Kubeconfig != "~/.kube/config" {
		t.Errorf("existing = %+v", cfg.Existing)
	}
	if cfg.Existing.NodeSelector["pool"] != "locust" {
		t.Errorf("nodeSelector = %v", cfg.Existing.NodeSelector)
	}
}

func TestExistingModePlacement(t *testing.T) {
	values := stackValues(t, "local")
	maps.Copy(values, map[string]string{
		"masterNodeSelector": `["pool=system"]`,
		"workerNodeSelector": `["pool=load"]`,
		"workerTolerations":  `["locust-eks/workers=true:NoSchedule", "dedicated:NoExecute", "spot"]`,
		"egressCidrs":        `["10.20.0.0/16", "2001:db8::/32"]`,
	})
	cfg, err := Parse(lookupIn(values), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	want := []components.Toleration{
		{Key: "locust-eks/workers", Operator: "Equal", Value: "true", Effect: "NoSchedule"},
		{Key: "dedicated", Operator: "Exists", Effect: "NoExecute"},
		{Key: "spot", Operator: "Exists"},
	}
	if !slices.Equal(cfg.Existing.WorkerTolerations, want) || cfg.Existing.MasterNodeSelector["pool"] != "system" || cfg.Existing.WorkerNodeSelector["pool"] != "load" {
		t.Errorf("existing = %+v", cfg.Existing)
	}
	if len(cfg.Locust.EgressCIDRs) != 2 {
		t.Errorf("egress = %v", cfg.Locust.EgressCIDRs)
	}
}

func TestExistingVPC(t *testing.T) {
	values := stackValues(t, "dev")
	maps.Copy(values, map[string]string{
		"vpcId":            "vpc-0a1b2c3d4e5f67890",
		"privateSubnetIds": `["subnet-0a1b2c3d","subnet-1a1b2c3d"]`,
		"publicSubnetIds":  `["subnet-2a1b2c3d"]`,
		// Ignored with an existing VPC.
		"vpcCidr": "not a cidr",
	})
	cfg, err := Parse(lookupIn(values), nil, available)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.EKS.Network
	if !n.Existing() || len(n.PrivateSubnetIDs) != 2 || len(n.PublicSubnetIDs) != 1 {
		t.Errorf("network = %+v", n)
	}
}

// TestQuantities: quantities are read by the API server's own parser, so
// every form it accepts (exponents, decimal suffixes) passes and nothing it
// refuses does.
func TestQuantities(t *testing.T) {
	for _, good := range []string{"1", "500m", "1.5", "1Ki", "2k", "1e3", "0.5"} {
		values := stackValues(t, "local")
		values["workerCpuRequest"] = good
		if _, err := Parse(lookupIn(values), nil, available); err != nil {
			t.Errorf("workerCpuRequest %q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "1 Gi", "-1", "1gi", "Gi", "0"} {
		values := stackValues(t, "local")
		values["workerCpuRequest"] = bad
		if _, err := Parse(lookupIn(values), nil, available); err == nil || !strings.Contains(err.Error(), "workerCpuRequest: got "+quote(bad)) {
			t.Errorf("workerCpuRequest %q: %v; want an error naming the key", bad, err)
		}
	}
}

// TestWebPasswordStaysSecret: a web password stored in plain text is
// refused, and no error about it shows it.
func TestWebPasswordStaysSecret(t *testing.T) {
	const password = "plain-text-password-42"
	values := stackValues(t, "local")
	values["webLogin"], values["webPassword"] = "true", password
	plain := func(key string) (string, bool, bool) { v, ok := values[key]; return v, ok, false }
	_, err := Parse(plain, nil, available)
	if err == nil || !strings.Contains(err.Error(), "webPassword: got a plain-text value (not shown)") || strings.Contains(err.Error(), password) {
		t.Errorf("a plain-text webPassword: %v; want it refused, unshown", err)
	}
	for _, short := range []string{"zq", "elevenchars"} {
		values["webPassword"] = short
		_, err := Parse(lookupIn(values), nil, available)
		if err == nil || strings.Contains(err.Error(), short) {
			t.Errorf("a short webPassword: %v; want it refused, unshown", err)
		}
	}
	values["webPassword"] = password
	cfg, err := Parse(lookupIn(values), nil, available)
	if err != nil || cfg.Locust.WebLogin == nil || cfg.Locust.WebLogin.Username != "locust" || cfg.Locust.WebLogin.Password != password {
		t.Errorf("a good web login: %+v, %v", cfg, err)
	}
}

// TestMasterSizedFromWorkers: empty master requests follow workers, a given
// one wins, and the limits are kept.
func TestMasterSizedFromWorkers(t *testing.T) {
	for _, tc := range []struct {
		workers, cpu, memory string
		want                 components.Resources
	}{
		{"2", "", "", components.Resources{CPURequest: "250m", MemoryRequest: "512Mi", MemoryLimit: "1Gi"}},
		{"1000", "", "", components.Resources{CPURequest: "900m", MemoryRequest: "512Mi", MemoryLimit: "1Gi"}},
		{"1000", "2", "", components.Resources{CPURequest: "2", MemoryRequest: "512Mi", MemoryLimit: "1Gi"}},
		{"10", "", "768Mi", components.Resources{CPURequest: "250m", MemoryRequest: "768Mi", MemoryLimit: "1Gi"}},
	} {
		values := stackValues(t, "dev")
		values["workers"], values["masterCpuRequest"], values["masterMemoryRequest"] = tc.workers, tc.cpu, tc.memory
		cfg, err := Parse(lookupIn(values), nil, available)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Locust.Master != tc.want {
			t.Errorf("workers %s, masterCpuRequest %q, masterMemoryRequest %q: master %+v, want %+v", tc.workers, tc.cpu, tc.memory, cfg.Locust.Master, tc.want)
		}
	}
}

// TestConfigReferenceDocumentsEveryKey keeps the config reference in
// docs/configuration.md and Pulumi.yaml's declarations the same set of keys.
func TestConfigReferenceDocumentsEveryKey(t *testing.T) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(projectDir + "/docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, reference, found := strings.Cut(string(doc), "\n## Config reference\n")
	if !found {
		t.Fatal("docs/configuration.md has no section \"## Config reference\"")
	}
	reference, _, _ = strings.Cut(reference, "\n## ")
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(reference, -1) {
		rows[m[1]] = true
	}
	for key := range decls {
		if !rows[key] {
			t.Errorf("docs/configuration.md's config reference has no row for %s", key)
		}
	}
	for key := range rows {
		if _, declared := decls[key]; !declared {
			t.Errorf("docs/configuration.md's config reference has a row for %s, which Pulumi.yaml does not declare", key)
		}
	}
}

// TestDefaultsMatchTheComponent keeps Pulumi.yaml's defaults and the
// LocustCluster's own (for programs that use it without this stack) equal.
func TestDefaultsMatchTheComponent(t *testing.T) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"image": components.DefaultImage,
		// Empty: sized from workers, as the component sizes them.
		"masterCpuRequest":    "",
		"masterCpuLimit":      components.MasterResourcesFor(maxWorkers).CPULimit,
		"masterMemoryRequest": "",
		"masterMemoryLimit":   components.MasterResourcesFor(maxWorkers).MemoryLimit,
		"workerCpuRequest":    components.DefaultWorkerResources.CPURequest,
		"workerCpuLimit":      components.DefaultWorkerResources.CPULimit,
		"workerMemoryRequest": components.DefaultWorkerResources.MemoryRequest,
		"workerMemoryLimit":   components.DefaultWorkerResources.MemoryLimit,
	}
	for key, value := range want {
		if got := decls[key].Default; got != value {
			t.Errorf("Pulumi.yaml default of %s is %v, the component's is %q", key, got, value)
		}
	}
}

// FuzzParse sets one key to any value: Parse never panics, and a refusal is
// an *Error whose every problem names a declared key (or an entry of one).
func FuzzParse(f *testing.F) {
	decls, err := ReadDeclarations(projectDir)
	if err != nil {
		f.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(decls))
	for i, seed := range []string{"", "0", "-1", "1e3", "[]", `["a=b"]`, `{"A":"b"}`, "locustio/locust:2.46.3-", "0:0.", "..data", `["..data"]`, strings.Repeat("x", 300), "\x00", "10.0.0.0/8"} {
		f.Add(uint8(i), seed)
	}
	f.Fuzz(func(t *testing.T, k uint8, value string) {
		key := keys[int(k)%len(keys)]
		values := stackValues(t, "dev")
		if k%2 == 1 {
			values = stackValues(t, "local")
		}
		values[key] = value
		_, err := Parse(lookupIn(values), nil, available)
		if err == nil {
			return
		}
		var cfgErr *Error
		if !errors.As(err, &cfgErr) {
			t.Fatalf("%s=%q: error %v is not a *stackconfig.Error", key, value, err)
		}
		for _, p := range cfgErr.Problems {
			base, _, _ := strings.Cut(p.Key, ".")
			if _, ok := decls[base]; !ok {
				t.Errorf("%s=%q: problem names %q, which is no declared key", key, value, p.Key)
			}
		}
	})
}

// BenchmarkParseLargeEnv parses 30,000 extraEnv entries: duplicate checks
// by map, not by scanning what came before (which took 10 s here).
func BenchmarkParseLargeEnv(b *testing.B) {
	values, err := ReadStack(projectDir, "local")
	if err != nil {
		b.Fatal(err)
	}
	env := make([]string, 30000)
	for i := range env {
		env[i] = fmt.Sprintf("VAR_%d=%d", i, i)
	}
	raw, _ := json.Marshal(env)
	values["extraEnv"] = string(raw)
	for b.Loop() {
		if _, err := Parse(lookupIn(values), nil, available); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSecretTypedIntoANameIsNotShown: `pulumi config set --secret --path
// secretEnv.API_TOKEN="$TOKEN"` (an '=' for a space) makes the token part of
// the entry's name. The refusal says what is wrong without printing it.
func TestSecretTypedIntoANameIsNotShown(t *testing.T) {
	const token = "tok3n/S3cret+value"
	values := stackValues(t, "dev")
	values["secretEnv"] = `{"API_TOKEN=` + token + `":""}`
	_, err := Parse(lookupIn(values), nil, available)
	if err == nil {
		t.Fatal("a name holding '=' was accepted")
	}
	msg := err.Error()
	if strings.Contains(msg, "tok3n") || strings.Contains(msg, "S3cret") {
		t.Fatalf("the error shows the token:\n%s", msg)
	}
	for _, want := range []string{
		fmt.Sprintf("a name of %d characters", len("API_TOKEN="+token)),
		"its character 10 not allowed",
		"starting API_TOKEN=",
		"pulumi config set --secret --path 'secretEnv.API_TOKEN' VALUE",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

// TestUndeclaredKeysRefused: Pulumi hands the program every key of the
// stack file, declared or not, and says nothing about one it never reads.
// `pulumi config set --secret secretEnv.API_TOKEN X` (no --path) stores the
// key "locust-eks:secretEnv.API_TOKEN" beside the secretEnv map, as its CLI
// does (pulumi config set: a key is a path only with --path).
func TestUndeclaredKeysRefused(t *testing.T) {
	dir := t.TempDir()
	project, err := os.ReadFile(filepath.Join(projectDir, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644); err != nil {
		t.Fatal(err)
	}
	stackFile := filepath.Join(dir, "Pulumi.dev.yaml")
	const settings = `config:
  aws:region: eu-west-1
  locust-eks:workers: "3"
  locust-eks:wokers: "4"
  locust-eks:secretEnv.API_TOKEN:
    secure: v1:AAAAAAAAAAAAAAAA:c2VjcmV0LXRva2Vu
`
	if err := os.WriteFile(stackFile, []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, known := StackFileUndeclared(dir, stackFile)
	if !known || strings.Join(keys, ",") != "secretEnv.API_TOKEN,wokers" {
		t.Fatalf("undeclared keys %v (known %v), want secretEnv.API_TOKEN and wokers", keys, known)
	}
	decls, err := ReadDeclarations(dir)
	if err != nil {
		t.Fatal(err)
	}
	problems := undeclaredProblems(keys, func(k string) bool { _, ok := decls[k]; return ok })
	msg := (&Error{Problems: problems}).Error()
	for _, want := range []string{
		"secretEnv.API_TOKEN: got a key of its own (value not shown)",
		"pulumi config rm 'secretEnv.API_TOKEN'",
		"pulumi config set --secret --path 'secretEnv.API_TOKEN' VALUE",
		"wokers: got a key Pulumi.yaml does not declare",
		"pulumi config rm 'wokers'",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `"4"`) || strings.Contains(msg, "c2VjcmV0") {
		t.Errorf("the message shows a value:\n%s", msg)
	}
	if _, known := StackFileUndeclared(dir, filepath.Join(dir, "Pulumi.none.yaml")); known {
		t.Error("a missing stack file reported as known")
	}
}
