package workers

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/streams"
)

// failureLog is the FAILURES bucket: each message's recorded failures, key
// <stream>.<seq>, value a JSON array of deadletter.ErrorRecord. Only real
// failures are recorded; the count is what MaxFailures limits.
type failureLog struct {
	kv jetstream.KeyValue
}

func failureKey(stream string, seq uint64) string { return streams.MessageKey(stream, seq) }

// history returns m's recorded failures; none when it has had no
// redelivery or the bucket cannot be read.
func (f *failureLog) history(m *Message) []deadletter.ErrorRecord {
	if m.Deliveries <= 1 {
		return nil
	}
	h, _ := readHistory(f.kv, m.Stream, m.Seq)
	return h
}

func readHistory(kv jetstream.KeyValue, stream string, seq uint64) ([]deadletter.ErrorRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	e, err := kv.Get(ctx, failureKey(stream, seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h []deadletter.ErrorRecord
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return nil, err
	}
	return h, nil
}

// add records one failure and returns the history with it. On a bucket
// error the returned history still holds what was known plus r.
func (f *failureLog) add(m *Message, r deadletter.ErrorRecord) ([]deadletter.ErrorRecord, error) {
	h := f.history(m)
	h = append(h, r)
	b, _ := json.Marshal(h) // ErrorRecord always marshals
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	_, err := f.kv.Put(ctx, failureKey(m.Stream, m.Seq), b)
	return h, err
}

// forget drops m's history once it is acked or dead-lettered.
func (f *failureLog) forget(m *Message) {
	forgetHistory(f.kv, m.Stream, m.Seq)
}

func forgetHistory(kv jetstream.KeyValue, stream string, seq uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	// Look first: a purge of a key that never existed would write a marker.
	if _, err := kv.Get(ctx, failureKey(stream, seq)); err != nil {
		return
	}
	_ = kv.Purge(ctx, failureKey(stream, seq)) // the bucket's TTL cleans what this misses
}
