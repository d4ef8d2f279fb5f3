// Package resultstore keeps load-test results in S3 (or an S3-compatible
// store): it uploads a run's folder and finds the previous run of a stack
// to compare with.
package resultstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Store is one bucket.
type Store struct {
	bucket string
	client *s3.Client
}

// New connects to bucket with the AWS SDK's default credential chain (the
// environment, a profile, an assumed role: what the AWS CLI would use), in
// the bucket's own region (bucketRegion), which need not be the caller's.
// endpoint, when not empty, is an S3-compatible store addressed by path.
func New(ctx context.Context, bucket, endpoint string) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials for the results bucket: %w", err)
	}
	addressing := func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}
	// A caller with no region configured still finds the bucket's: any
	// region's endpoint names it (lookupRegion).
	lookup := s3.NewFromConfig(cfg, addressing, func(o *s3.Options) {
		if o.Region == "" {
			o.Region = lookupRegion
		}
	})
	region, err := bucketRegion(ctx, lookup, bucket)
	if err != nil {
		return nil, err
	}
	inRegion := func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
	}
	return &Store{bucket: bucket, client: s3.NewFromConfig(cfg, addressing, inRegion)}, nil
}

// lookupRegion is the region HeadBucket is sent in when the caller has
// none: S3's first, whose endpoint answers for a bucket of any region with
// the bucket's own in bucketRegionHeader (a 301 when it is another).
const lookupRegion = "us-east-1"

// bucketRegionHeader is the response header in which S3 names a bucket's
// region: on every HeadBucket answer, also a 301 from another region's
// endpoint and a 403 (docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
// and API_GetBucketLocation.html: HeadBucket "always return[s] the bucket's
// location through an HTTP response header, whether access to the bucket is
// authorized or not").
const bucketRegionHeader = "X-Amz-Bucket-Region"

// bucketRegion asks S3 for bucket's region, as aws-sdk-go-v2's
// feature/s3/manager GetBucketRegion does (bucket_region.go@v1.23.25): a
// HeadBucket, whatever its answer, read for X-Amz-Bucket-Region. The SDK
// does not follow S3's 301 PermanentRedirect, so every later request to a
// bucket of another region would fail without it. "" is a store that names
// no region (an S3-compatible one): the caller's stays.
func bucketRegion(ctx context.Context, client *s3.Client, bucket string) (string, error) {
	out, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion), nil
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return "", fmt.Errorf("finding the region of the results bucket %s: %w", bucket, err)
	}
	if region := re.Response.Header.Get(bucketRegionHeader); region != "" {
		// A 403 still names the region: the requests that follow then
		// fail on the access itself, which is the error to show.
		return region, nil
	}
	if re.HTTPStatusCode() == http.StatusNotFound {
		return "", fmt.Errorf("the results bucket %s does not exist (HeadBucket: 404): check --results-bucket or the stack's resultsBucket output", bucket)
	}
	return "", fmt.Errorf("finding the region of the results bucket %s: %w", bucket, err)
}

// Upload copies every file of dir to <prefix>/<file name>.
func (s *Store) Upload(ctx context.Context, dir, prefix string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return n, err
		}
		_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String(path.Join(prefix, e.Name())), Body: f,
		})
		f.Close()
		if err != nil {
			return n, fmt.Errorf("uploading %s to s3://%s/%s: %w", e.Name(), s.bucket, prefix, err)
		}
		n++
	}
	return n, nil
}

// Put writes one object, replacing it.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Runs lists the runs under <stack>/, oldest first: a run folder's name is
// its UTC start time, so names sort by time.
func (s *Store) Runs(ctx context.Context, stack string) ([]string, error) {
	var runs []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(stack + "/"), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s/: %w", s.bucket, stack, err)
		}
		for _, cp := range page.CommonPrefixes {
			runs = append(runs, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), stack+"/"), "/"))
		}
	}
	slices.Sort(runs)
	return runs, nil
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// ErrNotFound is returned for a key the bucket does not hold.
var ErrNotFound = errors.New("not in the results bucket")

// Get reads one object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		var nf interface{ ErrorCode() string }
		if errors.As(err, &nf) && (nf.ErrorCode() == "NoSuchKey" || nf.ErrorCode() == "NotFound") {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("reading s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
