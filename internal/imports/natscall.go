package imports

import (
	"context"
	"fmt"
	"time"

	"github.com/openmoove/omq/internal/natserr"
)

// call runs one request to NATS under its own deadline (none of its own
// when timeout is 0) and names the cause of its failure (full store, no
// leader, no answer) after what. A request sent during a leader election
// or to a full store may get no answer at all; without its own deadline it
// waited for the caller's, ten minutes for omq import. omq's commands pass
// theirs (internal/cli's DefaultNATSTimeout).
func call[T any](ctx context.Context, timeout time.Duration, what string, f func(context.Context) (T, error)) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	v, err := f(ctx)
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, natserr.Explain(err))
	}
	return v, nil
}
