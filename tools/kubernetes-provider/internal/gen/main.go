// Command gen writes schema-embed.json and terraform-mapping-embed.json, the
// files the provider main embeds: the provider module's schema.json with its
// version set, and its terraform-mapping.json, both re-encoded compactly.
//
//	go run ./internal/gen -version 4.32.0 -src <provider module>/cmd/pulumi-resource-kubernetes -out .
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	version := flag.String("version", "", "provider version to stamp into the schema (no leading v)")
	src := flag.String("src", "", "directory holding schema.json and terraform-mapping.json")
	out := flag.String("out", ".", "directory to write the *-embed.json files to")
	flag.Parse()
	if *version == "" || *src == "" {
		log.Fatal("-version and -src are required")
	}

	var spec schema.PackageSpec
	readJSON(filepath.Join(*src, "schema.json"), &spec)
	spec.Version = *version
	writeJSON(filepath.Join(*out, "schema-embed.json"), spec)

	var mapping any
	readJSON(filepath.Join(*src, "terraform-mapping.json"), &mapping)
	writeJSON(filepath.Join(*out, "terraform-mapping-embed.json"), mapping)
}

func readJSON(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
}

func writeJSON(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
