// Package longtest gates the tests that take minutes (soaks, large-input
// memory and throughput runs) so that the README's test command stays quick.
// The default run keeps a short version of each; .ci/run runs the long ones in
// a step of its own with WXPAY_LONG=1:
//
//	func TestImportSoak(t *testing.T) {
//		longtest.Require(t)
//		…
//	}
package longtest

import (
	"os"
	"testing"
)

// Enabled reports whether the long tests run (WXPAY_LONG=1), for a test that
// keeps a short version in the default run and scales up in the long one.
func Enabled() bool { return os.Getenv("WXPAY_LONG") == "1" }

// Require skips the calling test unless the environment variable WXPAY_LONG is 1.
func Require(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("long test: set WXPAY_LONG=1 to run it (.ci/run does)")
	}
}
