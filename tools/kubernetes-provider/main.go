// Command pulumi-resource-kubernetes is the Pulumi Kubernetes resource
// provider, built from github.com/pulumi/pulumi-kubernetes/provider/v4 as
// served by the Go module proxy. The proxy's copy of the module lacks the
// minified, versioned schema files that upstream produces with `go generate`;
// tools/build.sh creates them next to this file (see internal/gen) before
// building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
