package workers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestProbePauseTellsNATSRefusedFromAPIDown(t *testing.T) {
	t.Parallel()
	full := fmt.Errorf("budget: NATS refused the write to the bucket: %w",
		&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"})
	p, what := probePause(time.Second, time.Minute, full)
	if p != time.Second {
		t.Errorf("pause after a refused budget write %s, want 1s kept: the API was not tried", p)
	}
	if what == "probe failed; pause extended" {
		t.Errorf("logged %q for a probe NATS refused", what)
	}
	p, what = probePause(time.Second, time.Minute, errors.New("503 Service Unavailable"))
	if p != 2*time.Second || what != "probe failed; pause extended" {
		t.Errorf("API down: pause %s %q, want 2s and the API's failure", p, what)
	}
	if p, _ := probePause(40*time.Second, time.Minute, errors.New("503")); p != time.Minute {
		t.Errorf("pause %s, want capped at PauseMax", p)
	}
}
