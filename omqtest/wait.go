package omqtest

import (
	"context"
	"testing"
	"time"
)

// pollEvery is how often a wait looks again. Every look is in memory (the
// sandbox) or one request to the in-process NATS server.
const pollEvery = 20 * time.Millisecond

// deadlineMargin is left before the test binary's deadline so that a wait
// fails with its own message, not with the -timeout panic.
const deadlineMargin = 2 * time.Second

// waitContext ends after the System's wait (WithWait), or shortly before
// the test's deadline if that comes first.
func (s *System) waitContext(t testing.TB) (context.Context, context.CancelFunc, time.Duration) {
	wait := s.opts.wait
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok {
			if left := time.Until(end) - deadlineMargin; left < wait {
				wait = max(left, time.Second)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	return ctx, cancel, wait
}

// poll calls check until it reports done or the wait ends, and returns
// whether it was done. check gets a context for its own calls.
func (s *System) poll(t testing.TB, check func(ctx context.Context) bool) (bool, time.Duration) {
	t.Helper()
	ctx, cancel, wait := s.waitContext(t)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if check(ctx) {
			return true, wait
		}
		select {
		case <-ctx.Done():
			return false, wait
		case <-tick.C:
		}
	}
}

// WaitFor waits until cond returns true, looking every 20ms, and fails the
// test with "waited <d> for <what>" if it does not within the System's wait
// (WithWait) or the test's deadline. cond must be cheap and must not call
// t.Fatal.
func (s *System) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if ok, wait := s.poll(t, func(context.Context) bool { return cond() }); !ok {
		t.Fatalf("omqtest: waited %s for %s", wait, what)
	}
}
