package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/tracing"
	"github.com/openmoove/omq/streams"
)

// MaxHistory is how many ErrorRecords a dead letter keeps in HeaderErrors:
// the first one and the latest ones, so the header stays small.
const MaxHistory = 32

// Failed is a message to dead-letter: what Write needs. The worker runtime
// and the advisory mover build one; a Letter is the same message read back
// from the DLQ.
type Failed struct {
	// The original message: subject, body and headers are kept as they were.
	Subject string
	Data    []byte
	Header  nats.Header
	// Stream and Seq locate the original; they make the Nats-Msg-Id.
	Stream string
	Seq    uint64
	// Deliveries is how many times it was delivered.
	Deliveries uint64
	// Kind is the failure kind ("permanent", …) or KindExhausted.
	Kind string
	// Error is the last error, in words a person can act on.
	Error string
	// History is the error history, oldest first.
	History []ErrorRecord
	// Worker is the consumer that gave up, or "deadletters" (the mover).
	Worker string
	// FailedAt is when it was dead-lettered. Default now.
	FailedAt time.Time
}

// MsgID is the Nats-Msg-Id of the dead letter of stream's message seq. Every
// writer uses it, so a second copy (a crash between the publish and the Term,
// or the mover racing a worker) is dropped by the DLQ's duplicate window.
func MsgID(stream string, seq uint64) string { return streams.MessageRef(stream, seq) }

// Write publishes l as a dead letter to the DLQ stream on top.DLQSubject(l.Subject) and waits
// for JetStream's ack. A duplicate (the same message dead-lettered already,
// inside the window) is not an error: the returned PubAck has Duplicate set.
// Only after Write returns nil may the original be terminated or deleted.
func Write(ctx context.Context, js jetstream.JetStream, top streams.Topology, l Failed) (*jetstream.PubAck, error) {
	if l.Stream == "" || l.Seq == 0 || l.Subject == "" {
		return nil, errors.New("deadletter: Failed needs Subject, Stream and Seq")
	}
	msg := &nats.Msg{Subject: top.DLQSubject(l.Subject), Data: l.Data, Header: l.Headers()}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("deadletter: publish %s to %s: %w", MsgID(l.Stream, l.Seq), top.DLQStream(), err)
	}
	return ack, nil
}

// Headers returns the dead letter's headers: the original's, less the Nats-*
// ones that steer a publish, plus Nats-Msg-Id and every Omq-* header.
func (l Failed) Headers() nats.Header {
	h := nats.Header{}
	for k, v := range l.Header {
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	at := l.FailedAt
	if at.IsZero() {
		at = time.Now()
	}
	h.Set(jetstream.MsgIDHeader, MsgID(l.Stream, l.Seq))
	h.Set(HeaderOriginalSubject, l.Subject)
	h.Set(HeaderOriginalStream, l.Stream)
	h.Set(HeaderOriginalSeq, strconv.FormatUint(l.Seq, 10))
	if id := l.Header.Get(jetstream.MsgIDHeader); id != "" {
		h.Set(HeaderOriginalMsgID, id)
	}
	h.Set(HeaderDeliveries, strconv.FormatUint(l.Deliveries, 10))
	h.Set(HeaderError, headerValue(l.Error))
	h.Set(HeaderErrorKind, l.Kind)
	hist, _ := json.Marshal(trimErrors(l.History)) // ErrorRecord always marshals
	h.Set(HeaderErrors, string(hist))
	h.Set(HeaderFailedAt, at.UTC().Format(time.RFC3339))
	h.Set(HeaderWorker, l.Worker)
	if sc := tracing.SpanContext(l.Header); sc.IsValid() {
		h.Set(HeaderTraceID, sc.TraceID().String())
	}
	return h
}

// trimErrors keeps the first record and the latest MaxHistory-1.
func trimErrors(h []ErrorRecord) []ErrorRecord {
	if h == nil {
		return []ErrorRecord{}
	}
	if len(h) <= MaxHistory {
		return h
	}
	return append([]ErrorRecord{h[0]}, h[len(h)-MaxHistory+1:]...)
}

// headerValue makes s a valid header value: no line breaks, at most 1 KiB.
func headerValue(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
	if len(s) > 1024 {
		s = s[:1021] + "..."
	}
	return s
}
