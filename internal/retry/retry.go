package retry

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Jitter is the randomization of every backoff: each wait is the current
// interval ±50%, so replicas that failed together do not retry together.
const Jitter = 0.5

// Backoff starts at initial and grows by multiplier per wait up to max,
// with Jitter, and never returns backoff.Stop: the caller decides when to
// give up.
func Backoff(initial, max time.Duration, multiplier float64) *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial), backoff.WithMaxInterval(max),
		backoff.WithMultiplier(multiplier), backoff.WithRandomizationFactor(Jitter),
		backoff.WithMaxElapsedTime(0))
}

// Sleep waits d or until ctx ends, and reports whether all of d passed.
func Sleep(ctx context.Context, d time.Duration) bool { return SleepUntil(ctx.Done(), d) }

// SleepUntil waits d or until done is closed, and reports whether all of d
// passed. It is Sleep for a stop signal that is a channel, not a context.
func SleepUntil(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
