// Package testsupport is the folder of what only tests use: fake targets
// built from the applications' source (fakeapps), real Locust processes on
// every version (locusttest), Pulumi mocks (pulumimock), the Kubernetes
// objects the stack creates as tests read them (k8sobject), throw-away
// certificates (testcert) and a reader of the commands' exit codes
// (exitcodes).
//
// Nothing the program ships may import these packages: a fake that leaks into
// the product would be deployed to a real account. boundary_test.go keeps it so.
package testsupport
