package omqtest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every System a test starts is stopped in its Cleanup: no goroutine of
// NATS, the sandbox, the workers or the HTTP listener may outlive it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
