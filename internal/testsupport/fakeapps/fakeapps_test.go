package fakeapps

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// exchange is one request and what the real application answers to it.
type exchange struct {
	method, target string
	contentType    string
	body           string
	status         int
	// contains, when set, must appear in the response body.
	contains string
	// source is where the expected answer comes from upstream.
	source string
}

func run(t *testing.T, h http.Handler, table []exchange) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	accepted, rejected := 0, 0
	for _, x := range table {
		t.Run(x.method+" "+x.target, func(t *testing.T) {
			req, err := http.NewRequest(x.method, srv.URL+x.target, strings.NewReader(x.body))
			if err != nil {
				t.Fatal(err)
			}
			if x.contentType != "" {
				req.Header.Set("Content-Type", x.contentType)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != x.status {
				t.Errorf("status %d, want %d (upstream: %s); body %.200q", resp.StatusCode, x.status, x.source, body)
			}
			if x.contains != "" && !strings.Contains(string(body), x.contains) {
				t.Errorf("body lacks %q (upstream: %s); got %.300q", x.contains, x.source, body)
			}
		})
		if x.status < 400 {
			accepted++
		} else {
			rejected++
		}
	}
	// The issue asks for at least five of each per application, so that a
	// fake cannot drift into accepting everything or nothing.
	if accepted < 5 || rejected < 5 {
		t.Errorf("table has %d accepted and %d rejected requests; want at least 5 of each", accepted, rejected)
	}
}

// TestCloudCarbonFootprintAsUpstream pins the fake to
// packages/api/src/__tests__/api.test.ts and
// packages/app/src/__tests__/CreateValidRequest.test.ts (and to Express's own
// answers where the router has no route).
func TestCloudCarbonFootprintAsUpstream(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ccf := CloudCarbonFootprint{Now: func() time.Time { return now }}
	const apiTest, validTest = "api.test.ts", "CreateValidRequest.test.ts"
	run(t, ccf, []exchange{
		// Accepted.
		{method: "GET", target: "/api/footprint?start=2020-07-12&end=2020-07-13", status: 200, contains: `"serviceEstimates"`, source: apiTest},
		{method: "GET", target: "/api/regions/emissions-factors", status: 200, contains: `"mtPerKwHour"`, source: apiTest},
		{method: "GET", target: "/api/recommendations", status: 200, source: apiTest},
		{method: "GET", target: "/api/recommendations?awsRecommendationTarget=CROSS_INSTANCE_FAMILY", status: 200, source: apiTest},
		{method: "GET", target: "/api/recommendations?awsRecommendationTarget=SAME_INSTANCE_FAMILY", status: 200, source: apiTest},
		{method: "GET", target: "/api/healthz", status: 200, contains: "OK", source: apiTest},
		{method: "GET", target: "/api/footprint?start=2020-07-10&end=2020-07-13&groupBy=month", status: 200, source: validTest + " (groupBy month)"},
		{method: "GET", target: "/api/footprint?start=2022-07-01&end=2022-07-02&ignoreCache=true&groupBy=day&limit=1000&skip=0", status: 200, source: "footprint-test.http"},
		{method: "GET", target: "/api/footprint?start=2026-11-27&end=2026-11-27", status: 200, source: "CreateValidRequest.ts: start == end and today are allowed"},
		{method: "GET", target: "/", status: 200, source: "docker/nginx.conf: index.html"},
		// Rejected.
		{method: "GET", target: "/api/footprint?end=2020-07-13", status: 400, contains: "Start date must be provided", source: apiTest},
		{method: "GET", target: "/api/footprint?start=2020-07-12", status: 400, contains: "End date must be provided", source: apiTest},
		{method: "GET", target: "/api/footprint?start=2020-07-12&end=2020-07-13&groupBy=hello", status: 400, contains: "Please specify a valid groupBy period", source: apiTest},
		{method: "GET", target: "/api/footprint?start=2020-07-12&end=2020-07-13&limit=limit&skip=skip", status: 400, contains: "Not a valid limit number, Not a valid skip number", source: apiTest},
		{method: "GET", target: "/api/recommendations?awsRecommendationTarget=ULTRA_INSTANCE_FAMILY", status: 400, contains: "AWS Recommendation Target is not valid", source: apiTest},
		{method: "GET", target: "/api/footprint?start=2020-07-14&end=2020-07-13", status: 400, contains: "Start date is after end date", source: validTest},
		{method: "GET", target: "/api/footprint?start=3000-07-14&end=3000-07-15", status: 400, contains: "Start date is in the future", source: validTest},
		{method: "GET", target: "/api/footprint?start=2020-01-13&end=3000-07-15", status: 400, contains: "End date is in the future", source: validTest},
		{method: "GET", target: "/api/footprint?start=haha%20lol&end=2020-07-15", status: 400, contains: "Start date is not in a recognized RFC2822 or ISO format", source: validTest},
		{method: "GET", target: "/api/footprint?start=2020-07-12&end=2020-07-13&limit=60000&skip=1", status: 400, contains: "Page limit must not exceed 50000", source: validTest},
		{method: "GET", target: "/api/footprint?start=2020-07-12&end=2020-07-13&limit=1&skip=-1", status: 400, contains: "Not a valid skip number", source: validTest},
		{method: "POST", target: "/api/footprint", status: 404, contains: "Cannot POST /api/footprint", source: "api.ts has no POST route; Express finalhandler"},
		{method: "GET", target: "/api/footprints", status: 404, contains: "Cannot GET /api/footprints", source: "api.ts; Express finalhandler"},
	})
}

// TestSuperHeroesFightsAsUpstream pins the fake to rest-fights'
// FightResourceTests.java and openapi.yml.
func TestSuperHeroesFightsAsUpstream(t *testing.T) {
	const tests = "FightResourceTests.java"
	const fight = `{"hero":{"name":"Super Baguette","level":42,"picture":"super_baguette.png","powers":"eats baguette really quickly"},` +
		`"villain":{"name":"Super Chocolatine","level":40,"picture":"super_chocolatine.png","powers":"does not eat pain au chocolat"},` +
		`"location":{"name":"Gotham City","description":"Dark city","picture":"gotham_city.png"}}`
	const json = "application/json"
	without := func(field string) string {
		return strings.Replace(fight, field, `"x":1`, 1)
	}
	run(t, &SuperHeroesFights{}, []exchange{
		// Accepted.
		{method: "GET", target: "/api/fights/hello", status: 200, contains: "Hello Fight Resource", source: tests},
		{method: "GET", target: "/api/fights/hello/heroes", status: 200, contains: "Hello Hero Resource", source: tests},
		{method: "GET", target: "/api/fights/randomfighters", status: 200, contains: `"villain"`, source: tests},
		{method: "GET", target: "/api/fights/randomlocation", status: 200, contains: `"picture"`, source: tests},
		{method: "GET", target: "/api/fights", status: 200, source: tests},
		{method: "GET", target: "/api/fights?page=-3", status: 200, source: tests + " (clamped)"},
		{method: "POST", target: "/api/fights", contentType: json, body: fight, status: 200, contains: `"winnerName"`, source: tests},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `,"location":{"name":"Gotham City","description":"Dark city","picture":"gotham_city.png"}`, "", 1), status: 200, source: "openapi.yml: location is optional"},
		{method: "GET", target: "/q/health/live", status: 200, source: tests},
		// Rejected.
		{method: "POST", target: "/api/fights", contentType: json, status: 400, source: tests + ": no body"},
		{method: "POST", target: "/api/fights", contentType: json, body: without(`"villain":{"name":"Super Chocolatine","level":40,"picture":"super_chocolatine.png","powers":"does not eat pain au chocolat"}`), status: 400, source: tests + ": villain null"},
		{method: "POST", target: "/api/fights", contentType: json, body: without(`"hero":{"name":"Super Baguette","level":42,"picture":"super_baguette.png","powers":"eats baguette really quickly"}`), status: 400, source: tests + ": hero null"},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `"name":"Super Baguette"`, `"name":""`, 1), status: 400, source: tests + ": hero name empty"},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `"name":"Super Baguette",`, ``, 1), status: 400, source: tests + ": hero name null"},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `"picture":"super_baguette.png"`, `"picture":""`, 1), status: 400, source: tests + ": hero picture empty"},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `"picture":"super_chocolatine.png"`, `"picture":""`, 1), status: 400, source: tests + ": villain picture empty"},
		{method: "POST", target: "/api/fights", contentType: json, body: strings.Replace(fight, `"level":42,`, ``, 1), status: 400, source: "openapi.yml: Hero requires level"},
		{method: "POST", target: "/api/fights", contentType: "text/plain", body: fight, status: 415, source: "openapi.yml: performFight consumes application/json"},
		{method: "GET", target: "/api/fights?page=not-a-number", status: 400, source: tests},
		{method: "GET", target: "/api/fights/5f0c7a1e2b3c4d5e6f708192", status: 404, source: tests + ": fight not found"},
		{method: "PUT", target: "/api/fights", contentType: json, body: fight, status: 405, source: "openapi.yml: /api/fights has GET and POST only"},
		{method: "POST", target: "/api/fights/randomfighters", status: 405, source: "openapi.yml: randomfighters is GET only"},
		{method: "GET", target: "/api/fight", status: 404, source: "openapi.yml: no such path"},
	})
}

// TestSuperHeroesFightsBeforeLocations pins the pre-3.8 API, which had no
// location service.
func TestSuperHeroesFightsBeforeLocations(t *testing.T) {
	srv := httptest.NewServer(&SuperHeroesFights{WithoutLocations: true})
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/fights/randomlocation")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// {id} matches "randomlocation", which is no ObjectId: findFightById's
	// `new ObjectId(id)` throws.
	if resp.StatusCode < 400 {
		t.Errorf("GET /api/fights/randomlocation on a pre-3.8 server: %d, want an error status", resp.StatusCode)
	}
}

// TestBookinfoProductPageAsUpstream pins the fake to productpage.py's routes
// (Flask answers wrong methods with 405 and unknown paths with 404) and to
// tests/unit/test_productpage.py.
func TestBookinfoProductPageAsUpstream(t *testing.T) {
	const py = "productpage.py"
	run(t, &BookinfoProductPage{}, []exchange{
		// Accepted.
		{method: "GET", target: "/productpage", status: 200, contains: "Book Reviews", source: py},
		{method: "GET", target: "/productpage?u=normal", status: 200, contains: "Book Details", source: "index.html links; productpage.py ignores u"},
		{method: "GET", target: "/", status: 200, contains: "Simple Bookstore App", source: py},
		{method: "GET", target: "/health", status: 200, contains: "Product page is healthy", source: py},
		{method: "GET", target: "/api/v1/products", status: 200, contains: "The Comedy of Errors", source: py},
		{method: "GET", target: "/api/v1/products/0/reviews", status: 200, source: "test_productpage.py"},
		{method: "GET", target: "/api/v1/products/0/ratings", status: 200, source: "test_productpage.py"},
		{method: "POST", target: "/login", contentType: "application/x-www-form-urlencoded", body: "username=jason&passwd=x", status: 302, source: py},
		// Rejected.
		{method: "POST", target: "/productpage", status: 405, source: py + ": GET only"},
		{method: "GET", target: "/login", status: 405, source: py + ": POST only"},
		{method: "POST", target: "/logout", status: 405, source: py + ": GET only"},
		{method: "GET", target: "/api/v1/products/abc", status: 400, source: "details.rb: non-numeric id"},
		{method: "GET", target: "/api/v2/products", status: 404, source: py + ": no such route"},
		{method: "DELETE", target: "/api/v1/products", status: 405, source: py + ": GET only"},
	})
}

// TestBookinfoBrokenBackends shows what a broken backend looks like: the page
// still answers 200, with productpage.html's error text.
func TestBookinfoBrokenBackends(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  *BookinfoProductPage
		text string
	}{
		{"details down", &BookinfoProductPage{DetailsDown: true}, detailsUnavailable},
		{"reviews down", &BookinfoProductPage{ReviewsDown: true}, reviewsUnavailable},
		{"ratings down", &BookinfoProductPage{RatingsDown: true}, ratingsServiceMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.app.ServeHTTP(rec, httptest.NewRequest("GET", "/productpage", nil))
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), tc.text) {
				t.Errorf("/productpage: %d, body has %q: %v; want 200 with it", rec.Code, tc.text, strings.Contains(rec.Body.String(), tc.text))
			}
		})
	}
}
