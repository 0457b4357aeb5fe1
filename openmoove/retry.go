package openmoove

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/retry"
)

// RetryPolicy bounds Retry. The worker loop has its own policy; this one is
// for CLI commands that make a handful of calls.
type RetryPolicy struct {
	// MaxAttempts counts the first call. Default 5.
	MaxAttempts int
	// InitialInterval is the first backoff; it grows 1.5× a retry, ±50%
	// jitter. Default 500ms.
	InitialInterval time.Duration
	// MaxInterval caps one backoff. Default 10s.
	MaxInterval time.Duration
	// MaxWait caps a Throttled wait; a longer one ends the retries with the
	// error. Default 2m.
	MaxWait time.Duration
}

// WithDefaults fills unset fields.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = 500 * time.Millisecond
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 10 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 2 * time.Minute
	}
	return p
}

// Retry calls op until it succeeds, with the default RetryPolicy.
func Retry(ctx context.Context, op func(ctx context.Context) error) error {
	return RetryWith(ctx, RetryPolicy{}, op)
}

// RetryWith calls op until it succeeds, a Permanent or Systemic error ends it,
// attempts run out or ctx ends. Transient errors back off exponentially with
// jitter; Throttled errors wait what the API asked (failure.WaitOf). It
// returns op's last error.
func RetryWith(ctx context.Context, p RetryPolicy, op func(ctx context.Context) error) error {
	p = p.WithDefaults()
	exp := retry.Backoff(p.InitialInterval, p.MaxInterval, backoff.DefaultMultiplier)
	b := backoff.WithContext(backoff.WithMaxRetries(exp, uint64(p.MaxAttempts-1)), ctx)
	b.Reset()
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		kind := failure.KindOf(err)
		if kind == failure.Permanent || kind == failure.Systemic {
			return err
		}
		next := b.NextBackOff()
		if next == backoff.Stop {
			return err
		}
		if w, ok := failure.WaitOf(err); ok && kind == failure.Throttled {
			if w > p.MaxWait {
				return err
			}
			next = w
		}
		if !retry.Sleep(ctx, next) {
			return err
		}
	}
}
