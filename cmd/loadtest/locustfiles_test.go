package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLocustfilesChecksum: the checksum comes from the master pod's
// annotation, read from the API server the kubeconfig names; a pod
// without it, or no such pod, is an error naming the pod.
func TestLocustfilesChecksum(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/locust/pods/loadtest-master-7d9f":
			fmt.Fprint(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"loadtest-master-7d9f","namespace":"locust",
				"annotations":{"locust-eks/locustfiles-sha256":"3f2a","prometheus.io/scrape":"true"}}}`)
		case "/api/v1/namespaces/locust/pods/old-master":
			fmt.Fprint(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"old-master","namespace":"locust"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	defer api.Close()
	kubeconfig := []byte(`apiVersion: v1
kind: Config
clusters:
- name: eks
  cluster:
    server: ` + api.URL + `
contexts:
- name: eks
  context:
    cluster: eks
    user: ci
current-context: eks
users:
- name: ci
  user:
    token: test-token
`)
	for _, tc := range []struct {
		pod, want, err string
	}{
		{"loadtest-master-7d9f", "3f2a", ""},
		{"old-master", "", "has no locust-eks/locustfiles-sha256 annotation"},
		{"gone", "", "the master pod locust/gone"},
	} {
		got, err := locustfilesChecksum(context.Background(), kubeconfig, "", "locust", tc.pod)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("pod %s: checksum %q, error %v; want %q and an error saying %q", tc.pod, got, err, tc.want, tc.err)
		}
	}
}
