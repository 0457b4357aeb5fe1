package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/properties"
)

// Summary counts what an import did.
type Summary struct {
	Queued  int `json:"queued"`
	Invalid int `json:"invalid"`
	Already int `json:"already"`
	Failed  int `json:"failed"`
}

// QueueOptions bound Queue's NATS requests and let omq import show
// progress and name each row it could not queue; all may be zero.
type QueueOptions struct {
	// TracerProvider receives the publish spans (omq import
	// --otel-endpoint); nil: the global provider.
	TracerProvider trace.TracerProvider
	// Timeout bounds each ledger request on its own (0: ctx alone), so a
	// store that does not answer ends the import with its cause instead
	// of at the import's overall deadline.
	Timeout time.Duration
	// Row is called once per valid row looked at.
	Row func()
	// NotQueued is told what ("line 7", "request row-…") could not be
	// queued and why, the cause explained (a full store, no leader).
	NotQueued func(what string, err error)
}

// Queue queues the valid rows that the ledger does not already know (the
// invalid ones are counted, not queued), through one publisher batch.
func Queue(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, top streams.Topology, rows []Row, h QueueOptions) (Summary, error) {
	var s Summary
	var valid []Row
	for _, r := range rows {
		if r.Valid() {
			valid = append(valid, r)
		} else {
			s.Invalid++
		}
	}
	if len(valid) == 0 {
		return s, nil
	}
	ledger, err := call(ctx, h.Timeout, "open the ledger", func(ctx context.Context) (*properties.Ledger, error) {
		return properties.OpenLedger(ctx, js, top)
	})
	if err != nil {
		return s, err
	}
	popts := []publisher.Option{publisher.WithPrefix(top.Prefix), publisher.WithLane(events.LaneBulk)}
	if h.TracerProvider != nil {
		popts = append(popts, publisher.WithTracerProvider(h.TracerProvider))
	}
	// Rows of an import are bulk work: live events go first (README, Lanes).
	pub, err := publisher.New(nc, popts...)
	if err != nil {
		return s, err
	}
	notQueued := func(what string, err error) {
		s.Failed++
		if h.NotQueued != nil {
			h.NotQueued(what, natserr.Explain(err))
		}
	}
	batch := pub.NewBatch()
	for _, r := range valid {
		_, lerr := call(ctx, h.Timeout, fmt.Sprintf("line %d: read the ledger", r.Line), func(ctx context.Context) (struct{}, error) {
			_, _, err := ledger.Get(ctx, r.Creation.RequestID)
			return struct{}{}, err
		})
		switch {
		case lerr == nil:
			s.Already++ // created, pending or refused: the ledger knows it
		case errors.Is(lerr, properties.ErrNoEntry):
			if _, err := batch.AddProperty(ctx, r.Creation); err != nil {
				notQueued(fmt.Sprintf("line %d", r.Line), err)
			}
		default:
			return s, lerr
		}
		if h.Row != nil {
			h.Row()
		}
	}
	res := batch.Flush(ctx)
	dups := res.Duplicates()
	s.Already += dups
	s.Queued += len(res.Acks) - dups
	for _, f := range res.Failures {
		notQueued("request "+f.ID, f.Err)
	}
	return s, nil
}
