package fakeapps

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CloudCarbonFootprint is Cloud Carbon Footprint 1.9 as its docker-compose
// deployment serves it: nginx in front (docker/nginx.conf: `/` from the
// client's build, `/api` proxied to the API) and the Express API behind
// (packages/api/src/server.ts mounts packages/api/src/api.ts on /api).
// Sources: cloud-carbon-footprint/cloud-carbon-footprint at
// b7a049c7d25c0022919ab9010199dd9e77aa4577 (@cloud-carbon-footprint/api 1.9.0).
type CloudCarbonFootprint struct {
	// Now is the API's clock, for its "in the future" checks; nil is time.Now.
	Now func() time.Time
}

// ServeHTTP implements http.Handler.
func (c CloudCarbonFootprint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		c.api(w, r)
		return
	}
	// nginx: `location / { try_files $uri $uri/ =404; }` under the client's
	// build; the only file a visit needs is index.html. nginx's static
	// module answers 405 to methods other than GET and HEAD.
	if r.URL.Path != "/" && r.URL.Path != "/index.html" {
		writeText(w, http.StatusNotFound, "text/html", "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\n")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeText(w, http.StatusMethodNotAllowed, "text/html", "<html><head><title>405 Not Allowed</title></head><body><center><h1>405 Not Allowed</h1></center><hr><center>nginx</center></body></html>\n")
		return
	}
	writeText(w, http.StatusOK, "text/html", `<!doctype html><html lang="en"><head><title>Cloud Carbon Footprint</title></head><body><div id="root"></div></body></html>`)
}

// api is the Express router of packages/api/src/api.ts: four GET routes and
// nothing else. Express matches paths case-insensitively and with an optional
// trailing slash, serves HEAD from GET routes, answers OPTIONS on a known path
// itself, and has no 405: anything unmatched falls to finalhandler's 404
// "Cannot METHOD /path" (server.ts adds no handler of its own).
func (c CloudCarbonFootprint) api(w http.ResponseWriter, r *http.Request) {
	route := strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))
	routes := map[string]func(http.ResponseWriter, url.Values){
		"/api/footprint":                 c.footprint,
		"/api/regions/emissions-factors": emissionsFactors,
		"/api/recommendations":           recommendations,
		"/api/healthz": func(w http.ResponseWriter, _ url.Values) {
			writeText(w, http.StatusOK, "text/html; charset=utf-8", "OK")
		},
	}
	handle, ok := routes[route]
	switch {
	case ok && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		handle(w, r.URL.Query())
	case ok && r.Method == http.MethodOptions:
		w.Header().Set("Allow", "GET,HEAD")
		writeText(w, http.StatusOK, "text/html; charset=utf-8", "GET,HEAD")
	default:
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		writeText(w, http.StatusNotFound, "text/html; charset=utf-8",
			"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot "+
				r.Method+" "+r.URL.Path+"</pre>\n</body>\n</html>\n")
	}
}

// groupByPeriods are the keys of `enum GroupBy` (packages/common/src/Config.ts).
var groupByPeriods = []string{"day", "week", "month", "quarter", "year"}

// Filter rules of validate() in packages/app/src/CreateValidRequest.ts.
var footprintFilters = []struct {
	param, name string
	valid       *regexp.Regexp
}{
	{"cloudProviders", "cloud providers", regexp.MustCompile(`^[A-Z]+$`)},
	{"accounts", "accounts", regexp.MustCompile(`^[A-Za-z0-9_-]*$`)},
	{"services", "services", regexp.MustCompile(`^[A-Za-z0-9\s]*$`)},
	{"regions", "regions", regexp.MustCompile(`^[A-Za-z0-9-]*$`)},
}

// footprint is FootprintApiMiddleware (packages/api/src/middleware.ts) with
// createValidFootprintRequest (packages/app/src/CreateValidRequest.ts): the
// dates are required, then every other rule is checked and all failures are
// joined with ", " into one 400 body. Results are paged by skip and limit as
// the MongoDB store pages them.
func (c CloudCarbonFootprint) footprint(w http.ResponseWriter, q url.Values) {
	start, end := q.Get("start"), q.Get("end")
	var missing []string
	if start == "" {
		missing = append(missing, "Start date must be provided")
	}
	if end == "" {
		missing = append(missing, "End date must be provided")
	}
	if len(missing) > 0 {
		writeText(w, http.StatusBadRequest, "text/html; charset=utf-8", strings.Join(missing, ", "))
		return
	}

	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	groupBy := q.Get("groupBy")
	if groupBy == "" {
		groupBy = "day" // middleware.ts: 'GroupBy parameter not specified, adopting default "day"'
	}
	var errs []string
	startDate, startOK := parseMomentUTC(start)
	endDate, endOK := parseMomentUTC(end)
	if !startOK {
		errs = append(errs, "Start date is not in a recognized RFC2822 or ISO format")
	}
	if !endOK {
		errs = append(errs, "End date is not in a recognized RFC2822 or ISO format")
	}
	if startOK && endOK && startDate.After(endDate) {
		errs = append(errs, "Start date is after end date")
	}
	if startOK && startDate.After(now()) {
		errs = append(errs, "Start date is in the future")
	}
	if endOK && endDate.After(now()) {
		errs = append(errs, "End date is in the future")
	}
	if !slices.Contains(groupByPeriods, groupBy) {
		errs = append(errs, "Please specify a valid groupBy period")
	}
	limit, limitOK := parseInt(q.Get("limit"))
	if q.Get("limit") != "" {
		if !limitOK || limit < 0 {
			errs = append(errs, "Not a valid limit number")
		} else if limit > 50000 {
			errs = append(errs, "Page limit must not exceed 50000")
		}
	}
	skip, skipOK := parseInt(q.Get("skip"))
	if q.Get("skip") != "" && (!skipOK || skip < 0) {
		errs = append(errs, "Not a valid skip number")
	}
	for _, f := range footprintFilters {
		values, set := q[f.param]
		if !set {
			continue
		}
		for _, v := range values {
			if f.param == "cloudProviders" {
				v = strings.ToUpper(v)
			}
			if !f.valid.MatchString(v) {
				errs = append(errs, "Filter for "+f.name+" must be an array with appropriate values")
				break
			}
		}
	}
	// qs turns tags[key]=value into an object; a bare tags=x is a string,
	// and tags[a][b]=x a nested object: both are refused.
	for key := range q {
		if key == "tags" || (strings.HasPrefix(key, "tags[") && strings.Count(key, "[") > 1) {
			errs = append(errs, "Tags must be formatted correctly into key/value pairs")
			break
		}
	}
	if len(errs) > 0 {
		writeText(w, http.StatusBadRequest, "text/html; charset=utf-8", strings.Join(errs, ", "))
		return
	}

	results := estimates(startDate, endDate, groupBy)
	if q.Get("limit") != "" {
		results = results[min(skip, len(results)):min(skip+limit, len(results))]
	}
	body, _ := json.Marshal(results)
	writeJSON(w, string(body))
}

// estimationResult is one period of packages/api/src/utils/schemas.yaml's
// FootprintResponse.
type estimationResult struct {
	Timestamp        time.Time         `json:"timestamp"`
	ServiceEstimates []serviceEstimate `json:"serviceEstimates"`
	PeriodStartDate  time.Time         `json:"periodStartDate"`
	PeriodEndDate    time.Time         `json:"periodEndDate"`
	GroupBy          string            `json:"groupBy"`
}

type serviceEstimate struct {
	CloudProvider          string   `json:"cloudProvider"`
	KilowattHours          float64  `json:"kilowattHours"`
	Co2e                   float64  `json:"co2e"`
	Cost                   float64  `json:"cost"`
	UsesAverageCPUConstant bool     `json:"usesAverageCPUConstant"`
	AccountID              string   `json:"accountId"`
	AccountName            string   `json:"accountName"`
	ServiceName            string   `json:"serviceName"`
	Region                 string   `json:"region"`
	Tags                   struct{} `json:"tags"`
}

// estimates makes one result per period from start to end.
func estimates(start, end time.Time, groupBy string) []estimationResult {
	step := map[string]func(time.Time) time.Time{
		"day":     func(t time.Time) time.Time { return t.AddDate(0, 0, 1) },
		"week":    func(t time.Time) time.Time { return t.AddDate(0, 0, 7) },
		"month":   func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
		"quarter": func(t time.Time) time.Time { return t.AddDate(0, 3, 0) },
		"year":    func(t time.Time) time.Time { return t.AddDate(1, 0, 0) },
	}[groupBy]
	var out []estimationResult
	for t := start; !t.After(end); t = step(t) {
		out = append(out, estimationResult{
			Timestamp: t, PeriodStartDate: t, PeriodEndDate: step(t), GroupBy: groupBy,
			ServiceEstimates: []serviceEstimate{{
				CloudProvider: "AWS", KilowattHours: 1.5, Co2e: 0.0006, Cost: 3.2,
				AccountID: "123456789012", AccountName: "load-test", ServiceName: "AmazonEC2", Region: "us-east-1",
			}},
		})
	}
	return out
}

// emissionsFactors is EmissionsApiMiddleware: a list of EmissionRatioResult
// (packages/common/src/EmissionRatioResult.ts); it takes no parameters.
func emissionsFactors(w http.ResponseWriter, _ url.Values) {
	writeJSON(w, `[{"cloudProvider":"AWS","region":"us-east-1","mtPerKwHour":0.000379069},`+
		`{"cloudProvider":"GCP","region":"europe-west1","mtPerKwHour":0.000167},`+
		`{"cloudProvider":"AZURE","region":"westeurope","mtPerKwHour":0.0003284}]`)
}

// recommendations is RecommendationsApiMiddleware with
// createValidRecommendationsRequest: awsRecommendationTarget is optional and,
// when given, one of AWS_RECOMMENDATIONS_TARGETS
// (packages/common/src/RecommendationTarget.ts).
func recommendations(w http.ResponseWriter, q url.Values) {
	if t := q.Get("awsRecommendationTarget"); t != "" && t != "SAME_INSTANCE_FAMILY" && t != "CROSS_INSTANCE_FAMILY" {
		writeText(w, http.StatusBadRequest, "text/html; charset=utf-8", "AWS Recommendation Target is not valid")
		return
	}
	writeJSON(w, `[]`)
}

// parseMomentUTC reads the ISO 8601 forms moment.utc() recognises: a date, or
// a date and time with optional seconds, fraction and zone. moment also falls
// back to the JavaScript Date parser (RFC 2822); RFC 1123 stands in for it.
func parseMomentUTC(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseInt is JavaScript's parseInt(s, 10): leading white space, a sign, then
// as many digits as there are; anything after them is ignored.
func parseInt(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	sign := 1
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, err := strconv.Atoi(s[:n])
	if err != nil {
		return 0, false
	}
	return sign * v, true
}
