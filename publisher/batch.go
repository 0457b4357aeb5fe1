package publisher

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
)

// Batch publishes many messages asynchronously with a bounded number in
// flight. Create one with NewBatch, Add messages, then Flush once. A Batch is
// not safe for concurrent use.
type Batch struct {
	p       *Publisher
	pending []pending // in flight, oldest first
	added   int
	res     BatchResult
}

type pending struct {
	index int
	id    string
	fut   jetstream.PubAckFuture
}

// BatchResult is what a Flush reports.
type BatchResult struct {
	// Acks of the publishes JetStream stored (or found duplicate), in the
	// order they were added.
	Acks []Ack
	// Failures are the publishes that were not acknowledged; retry them
	// with the same ids.
	Failures []Failure
}

// Duplicates counts the acks that stored nothing new.
func (r BatchResult) Duplicates() int {
	n := 0
	for _, a := range r.Acks {
		if a.Duplicate {
			n++
		}
	}
	return n
}

// Failure is one publish of a batch that failed.
type Failure struct {
	// Index is the message's place among the batch's successful Adds,
	// 0-based.
	Index int
	ID    string
	Err   error
}

func (f Failure) Error() string { return fmt.Sprintf("%s: %v", f.ID, f.Err) }

// NewBatch starts a batch.
func (p *Publisher) NewBatch() *Batch { return &Batch{p: p} }

// Add validates ev, gives it an id when it has none and starts publishing
// it; it returns the id. It blocks while the in-flight window is full,
// until an earlier publish is acknowledged or ctx ends. An invalid event
// returns *events.ValidationError and is not queued.
func (b *Batch) Add(ctx context.Context, ev events.Event) (string, error) {
	msg, err := b.p.eventMsg(&ev)
	if err != nil {
		return "", err
	}
	_, span := b.p.startSpan(ctx, msg)
	defer span.End()
	eventAttributes(span, &ev)
	err = b.add(ctx, ev.ID, msg)
	endSpan(span, err)
	return ev.ID, err
}

// add queues msg; publisher files for other message kinds use it.
func (b *Batch) add(ctx context.Context, id string, msg *nats.Msg) error {
	for len(b.pending) >= b.p.opt.maxInFlight {
		if err := b.settleOldest(ctx); err != nil {
			return err
		}
	}
	index := b.added
	b.added++
	fut, err := b.p.js.PublishMsgAsync(msg)
	if err != nil {
		b.res.Failures = append(b.res.Failures, Failure{Index: index, ID: id, Err: err})
		return nil
	}
	b.pending = append(b.pending, pending{index: index, id: id, fut: fut})
	return nil
}

// settleOldest waits for the oldest publish in flight.
func (b *Batch) settleOldest(ctx context.Context) error {
	p := b.pending[0]
	select {
	case pa := <-p.fut.Ok():
		b.res.Acks = append(b.res.Acks, Ack{ID: p.id, Stream: pa.Stream, Sequence: pa.Sequence, Duplicate: pa.Duplicate})
	case err := <-p.fut.Err():
		b.res.Failures = append(b.res.Failures, Failure{Index: p.index, ID: p.id, Err: err})
	case <-ctx.Done():
		return ctx.Err()
	}
	b.pending = b.pending[1:]
	return nil
}

// Flush waits for every publish in flight and reports them all. Publishes
// still unacknowledged when ctx ends are reported as failures with ctx's
// error (they may still be stored: retry with the same ids).
func (b *Batch) Flush(ctx context.Context) BatchResult {
	for len(b.pending) > 0 {
		if err := b.settleOldest(ctx); err != nil {
			for _, p := range b.pending {
				b.res.Failures = append(b.res.Failures, Failure{Index: p.index, ID: p.id, Err: err})
			}
			b.pending = nil
		}
	}
	res := b.res
	b.res = BatchResult{}
	return res
}

// Pending is the number of publishes in flight.
func (b *Batch) Pending() int { return len(b.pending) }
