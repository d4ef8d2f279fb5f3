package components

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/fakeapps"
)

// targets lists, for every shipped locustfile, the application it loads (a
// fake written from that application's source, see internal/testsupport/fakeapps) and
// the endpoints a run must hit. A locustfile missing here fails
// TestLocustfilesRunDistributed, so a new locustfile comes with its target.
var targets = map[string]struct {
	app       func() http.Handler
	endpoints []string
}{
	"quarkus_super_heroes.py": {
		func() http.Handler { return &fakeapps.SuperHeroesFights{} },
		[]string{"GET /api/fights/randomfighters", "GET /api/fights/randomlocation", "POST /api/fights"},
	},
	"cloud_carbon_footprint.py": {
		func() http.Handler { return fakeapps.CloudCarbonFootprint{} },
		[]string{"GET /", "GET /api/regions/emissions-factors", "GET /api/footprint"},
	},
	"bookinfo.py": {
		func() http.Handler { return &fakeapps.BookinfoProductPage{} },
		[]string{"GET /productpage"},
	},
}

// fakeTarget serves one fake application on 127.0.0.1 and counts what it
// receives.
type fakeTarget struct {
	*httptest.Server
	*fakeapps.Recorder
}

func newFakeTarget(t *testing.T, app http.Handler) *fakeTarget {
	rec := fakeapps.Record(app)
	f := &fakeTarget{Server: httptest.NewServer(rec), Recorder: rec}
	t.Cleanup(f.Close)
	return f
}
