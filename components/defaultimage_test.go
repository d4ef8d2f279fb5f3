package components

import (
	"slices"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// TestDefaultImageIsProven: the pods' default image runs a Locust version
// the suite runs, so what the suite proves on real processes (the login,
// the plugin, the figures) is proven for the version the pods run. A new
// default image needs its version added to the suite first.
func TestDefaultImageIsProven(t *testing.T) {
	tag := imageTag(DefaultImage)
	if !slices.Contains(locusttest.SuiteVersions(), tag) {
		t.Errorf("DefaultImage %s runs Locust %q; the suite runs %v: add that version to internal/testsupport/locusttest, or pick an image of one of them",
			DefaultImage, tag, locusttest.SuiteVersions())
	}
}
