package workers

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// Worker runs one durable consumer through the failure rule. It implements
// system.Component.
type Worker struct {
	js  jetstream.JetStream
	cfg Config
}

// New checks cfg (after WithDefaults) and returns a Worker; Start creates or
// updates its consumer and starts consuming.
func New(js jetstream.JetStream, cfg Config) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Worker{js: js, cfg: cfg}, nil
}

// Name is the worker's (and its consumer's) name.
func (w *Worker) Name() string { return w.cfg.Name }

// Start creates or updates the durable consumer and starts the handlers. It
// returns once consumption runs; ctx bounds the start only.
func (w *Worker) Start(ctx context.Context) error { return errors.New("workers: not implemented yet") }

// Stop stops fetching and waits, within ctx, for the handlers in flight to
// finish and their messages to be acked or handed back. Messages whose
// handler has not finished when ctx ends are redelivered after AckWait.
func (w *Worker) Stop(ctx context.Context) error { return nil }
