package resultstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// regionalS3 is gofakes3 behind S3's region check: a bucket of regions
// answers a request signed for another region 301 PermanentRedirect, one
// in denied answers 403 AccessDenied, and either answer names the bucket's
// region in X-Amz-Bucket-Region, as S3 does: API_HeadBucket.html (the
// x-amz-bucket-region response header), API_GetBucketLocation.html
// (HeadBucket returns it "whether access to the bucket is authorized or
// not") and UsingRouting.html (a request at the wrong region: a permanent
// redirect), all under docs.aws.amazon.com/AmazonS3/latest/API/. With one
// endpoint for every region, the region a request is for is its
// signature's scope, Credential=KEY/DATE/REGION/s3/aws4_request.
type regionalS3 struct {
	s3      http.Handler
	regions map[string]string
	denied  map[string]bool
}

var signedRegion = regexp.MustCompile(`Credential=[^/]+/[^/]+/([^/]+)/s3/`)

func (f regionalS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	region, ok := f.regions[bucket]
	if !ok {
		f.s3.ServeHTTP(w, r)
		return
	}
	w.Header().Set(bucketRegionHeader, region)
	code, status := 0, ""
	if m := signedRegion.FindStringSubmatch(r.Header.Get("Authorization")); m == nil || m[1] != region {
		code, status = http.StatusMovedPermanently, "PermanentRedirect"
	} else if f.denied[bucket] {
		code, status = http.StatusForbidden, "AccessDenied"
	}
	if code == 0 {
		f.s3.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + status + `</Code><Message>` + status +
			`</Message><Bucket>` + bucket + `</Bucket></Error>`))
	}
}

// TestBucketInItsRegion: the store reads and writes a bucket in the
// caller's region and in another one, says which bucket does not exist,
// and for a bucket it may not read shows the access error, not S3's
// redirect to the bucket's region.
func TestBucketInItsRegion(t *testing.T) {
	// The AWS SDK reads its credentials and region from the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	backend := s3mem.New()
	for _, b := range []string{"here", "there", "locked"} {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(regionalS3{
		s3:      gofakes3.New(backend).Server(),
		regions: map[string]string{"here": "eu-west-1", "there": "us-east-1", "locked": "us-east-1"},
		denied:  map[string]bool{"locked": true},
	})
	defer srv.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		bucket  string
		caller  string // the caller's region; "" none configured
		region  string
		newErr  string
		readErr string
	}{
		{bucket: "here", caller: "eu-west-1", region: "eu-west-1"},
		{bucket: "there", caller: "eu-west-1", region: "us-east-1"},
		{bucket: "there", caller: "", region: "us-east-1"},
		{bucket: "missing", caller: "eu-west-1", newErr: "the results bucket missing does not exist"},
		{bucket: "locked", caller: "eu-west-1", region: "us-east-1", readErr: "AccessDenied"},
	} {
		t.Run(tc.bucket+" from "+tc.caller, func(t *testing.T) {
			t.Setenv("AWS_REGION", tc.caller)
			t.Setenv("AWS_DEFAULT_REGION", tc.caller)
			s, err := New(ctx, tc.bucket, srv.URL)
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("New: %v, want an error saying %q", err, tc.newErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := s.client.Options().Region; got != tc.region {
				t.Errorf("the client of bucket %s is for region %s, want the bucket's %s", tc.bucket, got, tc.region)
			}
			err = s.Put(ctx, "dev/run/summary.json", []byte("{}"))
			if err == nil {
				var b []byte
				b, err = s.Get(ctx, "dev/run/summary.json")
				if err == nil && string(b) != "{}" {
					t.Errorf("read back %q", b)
				}
			}
			switch {
			case tc.readErr == "" && err != nil:
				t.Errorf("writing and reading bucket %s: %v", tc.bucket, err)
			case tc.readErr != "" && (err == nil || !strings.Contains(err.Error(), tc.readErr)):
				t.Errorf("writing bucket %s: %v, want %s", tc.bucket, err, tc.readErr)
			}
			if _, err := s.Get(ctx, "dev/none"); tc.readErr == "" && !errors.Is(err, ErrNotFound) {
				t.Errorf("a key not in bucket %s: %v, want ErrNotFound", tc.bucket, err)
			}
		})
	}
}
