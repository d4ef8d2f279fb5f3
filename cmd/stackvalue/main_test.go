package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestStackValue(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		code       int
		out        string
	}{
		{"plain", "config:\n  aws:region: us-east-1\n", 0, "us-east-1\n"},
		{"double quotes", "config:\n  aws:region: \"eu-west-1\"\n", 0, "eu-west-1\n"},
		{"single quotes and a comment", "config:\n  aws:region: 'eu-west-2' # London\n", 0, "eu-west-2\n"},
		{"commented-out line first", "config:\n  # aws:region: us-west-2\n  aws:region: ap-south-1\n", 0, "ap-south-1\n"},
		{"flow style", "config: {aws:region: ca-central-1, locust-eks:workers: 2}\n", 0, "ca-central-1\n"},
		{"nested key of the same name is not it", "config:\n  locust-eks:tags:\n    aws:region: nope\n", 1, ""},
		{"encrypted", "config:\n  aws:region:\n    secure: v1:abc\n", 1, ""},
		{"missing", "config:\n  locust-eks:workers: 2\n", 1, ""},
		{"not YAML", "config: [\n", 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{path, "aws:region"}, &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.out {
				t.Errorf("exit %d, printed %q (stderr %q); want %d, %q", code, stdout.String(), stderr.String(), tc.code, tc.out)
			}
		})
	}
	// Top-level settings: a stack created with a KMS secrets provider.
	path := filepath.Join(t.TempDir(), "Pulumi.kms.yaml")
	os.WriteFile(path, []byte("secretsprovider: awskms://alias/x?region=us-east-1\nencryptedkey: AQID\nconfig:\n  aws:region: us-east-1\n"), 0o644)
	for key, want := range map[string]string{"secretsprovider": "awskms://alias/x?region=us-east-1\n", "encryptedkey": "AQID\n"} {
		var stdout bytes.Buffer
		if code := run([]string{path, key}, &stdout, &bytes.Buffer{}); code != 0 || stdout.String() != want {
			t.Errorf("%s: exit %d, %q; want %q", key, code, stdout.String(), want)
		}
	}
	var stderr bytes.Buffer
	if code := run(nil, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if code := run([]string{"/nonexistent/Pulumi.x.yaml", "aws:region"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}

// TestEveryStackFileHasARegion: the workflows read each AWS stack's region
// with this command.
func TestEveryStackFileHasARegion(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"../../Pulumi." + stack + ".yaml", "aws:region"}, &stdout, &stderr); code != 0 {
			t.Errorf("Pulumi.%s.yaml: exit %d: %s", stack, code, stderr.String())
		}
	}
}
