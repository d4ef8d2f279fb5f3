package stackconfig

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// awsStacks are the stacks whose file puts them on EKS: the ones CI
// previews on pull requests. Existing-cluster stacks (local) need a
// kubeconfig CI does not have.
func awsStacks(t *testing.T) []string {
	t.Helper()
	stacks, err := Stacks(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, stack := range stacks {
		cfg, err := Parse(lookupIn(stackValues(t, stack)), nil, available)
		if err != nil {
			t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
		}
		if cfg.Mode == ModeEKS {
			out = append(out, stack)
		}
	}
	slices.Sort(out)
	return out
}

type workflow struct {
	On struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Options []string `yaml:"options"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Jobs map[string]struct {
		Environment string `yaml:"environment"`
		Strategy    struct {
			Matrix struct {
				Include []map[string]string `yaml:"include"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(projectDir + "/.github/workflows/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// TestPreviewMatrixCoversEveryEnvironment fails when a Pulumi.<env>.yaml
// on AWS is missing from the pull-request preview, or the preview names a
// stack with no file.
func TestPreviewMatrixCoversEveryEnvironment(t *testing.T) {
	want := awsStacks(t)
	w := readWorkflow(t, "preview.yml")
	var got []string
	for _, entry := range w.Jobs["preview"].Strategy.Matrix.Include {
		got = append(got, entry["stack"])
		if entry["role-variable"] == "" {
			t.Errorf("preview matrix entry %v names no role variable", entry)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("preview matrix stacks %v, want the AWS stack files %v", got, want)
	}
}

// TestDeployAndDestroyCoverEveryEnvironment keeps the deploy jobs and the
// destroy choices in step with the stack files too.
func TestDeployAndDestroyCoverEveryEnvironment(t *testing.T) {
	want := awsStacks(t)

	var deployed []string
	for name, job := range readWorkflow(t, "deploy.yml").Jobs {
		for _, step := range job.Steps {
			if stack := step.With["stack-name"]; stack != "" {
				deployed = append(deployed, stack)
				if job.Environment != stack {
					t.Errorf("deploy job %s updates %s in GitHub Environment %q; want the stack's own", name, stack, job.Environment)
				}
			}
		}
	}
	slices.Sort(deployed)
	if !slices.Equal(deployed, want) {
		t.Errorf("deploy.yml updates %v, want %v", deployed, want)
	}

	choices := readWorkflow(t, "destroy.yml").On.WorkflowDispatch.Inputs["stack"].Options
	slices.Sort(choices)
	if !slices.Equal(choices, want) {
		t.Errorf("destroy.yml offers %v, want %v", choices, want)
	}
}
