package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/openmoove/omq/internal/natserr"
)

// DefaultNATSTimeout bounds one request of a command to NATS. A request
// sent during a leader election or to a full store may get no answer at
// all; without its own deadline it waited for the command's (10 minutes
// for omq import and omq publish; 95 s were seen).
const DefaultNATSTimeout = 15 * time.Second

func (e *Env) natsTimeout() time.Duration {
	if e.NATSTimeout > 0 {
		return e.NATSTimeout
	}
	return DefaultNATSTimeout
}

// natsCall runs one request to NATS under its own deadline and names the
// cause of its failure (full store, no leader, no answer) after what.
func natsCall[T any](ctx context.Context, e *Env, what string, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, e.natsTimeout())
	defer cancel()
	v, err := f(cctx)
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, natserr.Explain(err))
	}
	return v, nil
}

// publishHint is the advice for a refused publish: only when no stream
// takes the subject is it about omq run and its streams; a full store or
// a missing answer says so instead.
func publishHint(err error) error {
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w; no stream takes it: is omq run running and are its streams applied (omq streams apply)? On a cluster a new stream leader may still be elected: retry in a few seconds", err)
	}
	return err
}
