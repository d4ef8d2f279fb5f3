package components

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// targetEndpoints lists, for every shipped locustfile, the endpoints of the
// system it loads. The fake target implements all of them; a locustfile
// missing here fails TestLocustfilesRunDistributed, so a new locustfile comes
// with its endpoints.
var targetEndpoints = map[string][]string{
	"quarkus_super_heroes.py":   {"GET /api/fights/randomfighters", "POST /api/fights"},
	"cloud_carbon_footprint.py": {"GET /", "GET /api/regions/emissions-factors", "POST /api/footprint"},
	"bookinfo.py":               {"GET /productpage"},
}

// fakeTarget stands in for the three systems under test. It checks request
// bodies the way the real services would reject bad ones: a fight must be
// posted with exactly a pair of fighters the server drew.
type fakeTarget struct {
	*httptest.Server

	mu       sync.Mutex
	hits     map[string]int
	bad      []string
	fighters map[string]bool // canonical JSON of every pair handed out
}

func newFakeTarget(t *testing.T) *fakeTarget {
	f := &fakeTarget{hits: map[string]int{}, fighters: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

type fighter struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

type fighters struct {
	Hero    fighter `json:"hero"`
	Villain fighter `json:"villain"`
}

func (f *fakeTarget) serve(w http.ResponseWriter, r *http.Request) {
	endpoint := r.Method + " " + r.URL.Path
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits[endpoint]++

	switch endpoint {
	case "GET /api/fights/randomfighters":
		pair := fighters{Hero: fighter{"hero-" + token(), 10}, Villain: fighter{"villain-" + token(), 9}}
		b, _ := json.Marshal(pair)
		f.fighters[string(b)] = true
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case "POST /api/fights":
		var pair fighters
		if err := json.Unmarshal(body, &pair); err != nil {
			f.reject(w, endpoint, fmt.Sprintf("body %q is not a pair of fighters", body))
			return
		}
		canonical, _ := json.Marshal(pair)
		if !f.fighters[string(canonical)] {
			f.reject(w, endpoint, fmt.Sprintf("fighters %s were never drawn", canonical))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"winnerName":%q,"loserName":%q}`, pair.Hero.Name, pair.Villain.Name)
	case "GET /":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Cloud Carbon Footprint</body></html>")
	case "GET /api/regions/emissions-factors":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"cloudProvider":"AWS","geography":"us-east-1","mtPerKwHour":0.000379}]`)
	case "POST /api/footprint":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":[]}`)
	case "GET /productpage":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>The Comedy of Errors</body></html>")
	default:
		f.reject(w, endpoint, "no such endpoint")
	}
}

func (f *fakeTarget) reject(w http.ResponseWriter, endpoint, why string) {
	if len(f.bad) < 5 {
		f.bad = append(f.bad, endpoint+": "+why)
	}
	http.Error(w, why, http.StatusBadRequest)
}

// snapshot returns the hits per endpoint and the rejected requests so far.
func (f *fakeTarget) snapshot() (map[string]int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hits := make(map[string]int, len(f.hits))
	for k, v := range f.hits {
		hits[k] = v
	}
	return hits, append([]string(nil), f.bad...)
}

func (f *fakeTarget) total() int {
	hits, _ := f.snapshot()
	n := 0
	for _, v := range hits {
		n += v
	}
	return n
}

func token() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
