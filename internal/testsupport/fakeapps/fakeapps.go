// Package fakeapps serves stand-ins for the applications the shipped
// locustfiles load: Cloud Carbon Footprint, Quarkus Super Heroes' fights
// service and Istio's Bookinfo product page.
//
// Each fake is written from its application's own source, cited beside every
// route and rule, never from our locustfiles: the routes, the methods, the
// validation and the status codes are the real server's, so a locustfile that
// sends what the real server refuses is refused here too. fakeapps_test.go
// pins each fake to requests the upstream tests send, with the statuses the
// real servers answer.
//
// This is test support: nothing outside tests imports it.
package fakeapps

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Recorder counts the requests an application receives, per "METHOD /path",
// and the responses it answered with a status of 400 or more.
type Recorder struct {
	handler http.Handler

	mu     sync.Mutex
	hits   map[string]int
	errors []string
}

// Record wraps h so that every request and every error response is counted.
func Record(h http.Handler) *Recorder {
	return &Recorder{handler: h, hits: map[string]int{}}
}

// ServeHTTP implements http.Handler.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	endpoint := req.Method + " " + req.URL.Path
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.handler.ServeHTTP(sw, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits[endpoint]++
	if sw.status >= 400 && len(r.errors) < 10 {
		r.errors = append(r.errors, endpoint+" ("+req.URL.RawQuery+"): "+http.StatusText(sw.status))
	}
}

// Hits returns the number of requests per "METHOD /path" so far.
func (r *Recorder) Hits() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	hits := make(map[string]int, len(r.hits))
	for k, v := range r.hits {
		hits[k] = v
	}
	return hits
}

// Errors returns up to the first ten requests answered with 400 or more.
func (r *Recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}

// Total is the number of requests so far.
func (r *Recorder) Total() int {
	n := 0
	for _, v := range r.Hits() {
		n += v
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// writeJSON answers 200 with a JSON body.
func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if body != "" {
		w.Write([]byte(body))
	}
}

// writeText answers status with a body of the given content type.
func writeText(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// isJSON reports whether a request's Content-Type is JSON, with or without
// parameters such as charset.
func isJSON(r *http.Request) bool {
	mediaType, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}

// Slow answers every request of an application after a delay, so that a load
// test's users are mid-request when a stop comes, and keeps when each answer
// went out. The delay is the only thing it adds.
type Slow struct {
	App   http.Handler
	Delay time.Duration
	// Jitter adds up to this much more, at random, to each answer, so that
	// response times spread over many of Locust's buckets.
	Jitter time.Duration

	mu    sync.Mutex
	first time.Time   // the first request's arrival
	done  []time.Time // when each answer went out
}

// ServeHTTP implements http.Handler.
func (s *Slow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
	delay := s.Delay
	if s.Jitter > 0 {
		delay += rand.N(s.Jitter)
	}
	time.Sleep(delay)
	s.App.ServeHTTP(w, r)
	s.mu.Lock()
	s.done = append(s.done, time.Now())
	s.mu.Unlock()
}

// First is when the first request arrived; zero before any.
func (s *Slow) First() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// AnsweredAfter counts the answers that went out after t.
func (s *Slow) AnsweredAfter(t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.done {
		if d.After(t) {
			n++
		}
	}
	return n
}
