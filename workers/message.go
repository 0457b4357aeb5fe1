package workers

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
)

// Message is one delivery as a handler sees it. Handlers read it; they never
// ack it: the runtime does, from the error the handler returns.
type Message struct {
	Subject string
	Data    []byte
	Header  nats.Header
	// Stream is the stream the message was consumed from; Seq its sequence
	// there.
	Stream string
	Seq    uint64
	// Deliveries is this delivery's number, 1-based (hand-backs for a pause
	// or a throttle count too: it is the server's count).
	Deliveries uint64
	// MsgID is the message's Nats-Msg-Id, "" if it had none. Handlers use it
	// (or a field of the body) as the API idempotency key.
	MsgID string
	// Published is when the message entered the stream.
	Published time.Time

	msg jetstream.Msg
	// laneCap is the worker's Config.Lane: the highest lane m may have.
	laneCap events.Lane
	// span is the delivery's span (a no-op one with tracing off).
	span trace.Span
}

// IdempotencyKey is the key the API call for m must use: the same for its
// first delivery, its redeliveries and every replay of its dead letter (see
// deadletter.IdempotencyKey). A handler whose body carries its own id (a
// request_id) prefers that.
func (m *Message) IdempotencyKey() string {
	return deadletter.IdempotencyKey(m.Header.Get(deadletter.HeaderOriginalMsgID), m.MsgID, m.Stream, m.Seq)
}

// InProgress tells the server the handler is still working on the message,
// restarting its AckWait. Only calls that may outlive the handler's context
// need it; the context's deadline is not extended.
func (m *Message) InProgress() error {
	if m.msg == nil {
		return nil
	}
	return m.msg.InProgress()
}

// Lane is the message's lane (events.HeaderLane): the share of the API
// budget its calls draw on. No header, or one omq does not know, is live:
// the header can only lower a message's priority below the default. On a
// worker with Config.Lane the lane is at most that one: a live header on
// the bulk consumer is bulk.
func (m *Message) Lane() events.Lane {
	l := events.LaneOfHeader(m.Header.Get(events.HeaderLane))
	if m.laneCap != "" && laneRank(l) < laneRank(m.laneCap) {
		return m.laneCap
	}
	return l
}

// Handler does the work for one message. It returns nil when done (the
// runtime acks) or an error whose failure.Kind decides what the runtime does
// (see the package documentation). ctx ends before the message's AckWait;
// a handler must return when it does.
type Handler func(ctx context.Context, m *Message) error

func newMessage(stream string, laneCap events.Lane, msg jetstream.Msg) (*Message, error) {
	md, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	return &Message{
		Subject: msg.Subject(), Data: msg.Data(), Header: msg.Headers(),
		Stream: stream, Seq: md.Sequence.Stream, Deliveries: md.NumDelivered,
		MsgID: msg.Headers().Get(jetstream.MsgIDHeader), Published: md.Timestamp,
		msg: msg, laneCap: laneCap,
	}, nil
}
