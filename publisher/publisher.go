package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/tracing"
	"github.com/openmoove/omq/streams"
)

// ErrInvalidOption is wrapped by every option that refuses its value.
var ErrInvalidOption = errors.New("publisher: invalid option")

type options struct {
	prefix      string
	timeout     time.Duration
	maxInFlight int
	lane        events.Lane
	tracer      trace.TracerProvider
}

// Option configures New.
type Option func(*options) error

// WithPrefix sets the subject prefix of omq's streams. Default "openmoove".
func WithPrefix(prefix string) Option {
	return func(o *options) error {
		if prefix == "" {
			return fmt.Errorf("%w: prefix must not be empty", ErrInvalidOption)
		}
		o.prefix = prefix
		return nil
	}
}

// WithTimeout bounds each publish when ctx has no deadline, and each
// asynchronous publish's wait for its ack. Default 5s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidOption, d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxInFlight bounds a Batch's unacknowledged publishes. Default 256.
func WithMaxInFlight(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 65536 {
			return fmt.Errorf("%w: max in flight must be 1 to 65536, got %d", ErrInvalidOption, n)
		}
		o.maxInFlight = n
		return nil
	}
}

// WithLane sets the lane (events.Lane) of everything the Publisher
// publishes: events.LaneLive (the default: work published as it happens)
// or events.LaneBulk (a backlog, an import: its API calls take what live
// work leaves of the shared budget; its property creations go to the bulk
// subject, streams.Topology.BulkCreatePropertySubject). The replay and
// reads lanes are omq's own and are refused.
func WithLane(l events.Lane) Option {
	return func(o *options) error {
		if l != events.LaneLive && l != events.LaneBulk {
			return fmt.Errorf("%w: lane %q: a publisher may choose %s or %s", ErrInvalidOption, l, events.LaneLive, events.LaneBulk)
		}
		o.lane = l
		return nil
	}
}

// WithTracerProvider sets where the publish spans go; each published
// message carries its span's W3C traceparent (and tracestate) in its NATS
// headers, so omq's worker continues the trace. Default: the global
// provider (otel.GetTracerProvider), a no-op unless the program installed
// one. A ctx already carrying a span makes the publish its child.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) error {
		if tp == nil {
			return fmt.Errorf("%w: nil tracer provider", ErrInvalidOption)
		}
		o.tracer = tp
		return nil
	}
}

// Publisher publishes events (and, see CreateProperty, property creations)
// into omq's streams.
type Publisher struct {
	js     jetstream.JetStream
	top    streams.Topology
	opt    options
	tracer trace.Tracer
}

// New returns a Publisher over nc, an open NATS connection to omq's NATS.
// It does not own nc: close it yourself when done.
func New(nc *nats.Conn, opts ...Option) (*Publisher, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil NATS connection", ErrInvalidOption)
	}
	o := options{prefix: "openmoove", timeout: 5 * time.Second, maxInFlight: 256, lane: events.LaneLive}
	for _, f := range opts {
		if err := f(&o); err != nil {
			return nil, err
		}
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(o.timeout))
	if err != nil {
		return nil, err
	}
	return &Publisher{js: js, top: streams.New(o.prefix), opt: o, tracer: tracing.Tracer(o.tracer)}, nil
}

// Ack is JetStream's receipt for one published message.
type Ack struct {
	// ID is the event id (or request id): the Nats-Msg-Id.
	ID string
	// Stream and Sequence locate the stored message.
	Stream   string
	Sequence uint64
	// Duplicate is true when the id was already stored inside the duplicate
	// window: nothing new was stored.
	Duplicate bool
}

// Publish validates ev, gives it an id when it has none, and publishes it
// to <prefix>.events.<type> with Nats-Msg-Id = the id, waiting for
// JetStream's ack. An invalid event returns *events.ValidationError and
// publishes nothing.
func (p *Publisher) Publish(ctx context.Context, ev events.Event) (Ack, error) {
	msg, err := p.eventMsg(&ev)
	if err != nil {
		return Ack{}, err
	}
	ctx, span := p.startSpan(ctx, msg)
	defer span.End()
	eventAttributes(span, &ev)
	ack, err := p.publishMsg(ctx, ev.ID, msg)
	endSpan(span, err)
	return ack, err
}

// startSpan starts the publish span of msg and writes its trace context
// into msg's headers, for the worker to continue.
func (p *Publisher) startSpan(ctx context.Context, msg *nats.Msg) (context.Context, trace.Span) {
	ctx, span := p.tracer.Start(ctx, "publish "+msg.Subject, trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(tracing.KeySubject.String(msg.Subject))
	}
	tracing.Inject(ctx, msg.Header)
	return ctx, span
}

// eventAttributes names ev on span by its ids and type only: an event's
// actor and notes may name a person.
func eventAttributes(span trace.Span, ev *events.Event) {
	if span.IsRecording() {
		span.SetAttributes(tracing.KeyEventID.String(ev.ID), tracing.KeyTransactionID.String(ev.TransactionID),
			tracing.KeyEventType.String(ev.Type))
	}
}

// endSpan marks a failed publish; the error's text stays out of the span
// (it may quote the subject only, but a trace backend is no place to grow
// that habit).
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "publish failed")
	}
}

// eventMsg validates ev, fills its id and builds the NATS message.
func (p *Publisher) eventMsg(ev *events.Event) (*nats.Msg, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.ID == "" {
		ev.ID = events.NewID()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("publisher: encode event %s: %w", ev.ID, err)
	}
	return p.newMsg(p.top.EventSubject(ev.Type), ev.ID, body), nil
}

func (p *Publisher) newMsg(subject, id string, body []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Data: body, Header: nats.Header{
		jetstream.MsgIDHeader: []string{id}, events.HeaderLane: []string{string(p.opt.lane)}}}
}

// publishMsg publishes synchronously, with the default timeout when ctx
// has no deadline.
func (p *Publisher) publishMsg(ctx context.Context, id string, msg *nats.Msg) (Ack, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opt.timeout)
		defer cancel()
	}
	pa, err := p.js.PublishMsg(ctx, msg)
	if err != nil {
		return Ack{}, fmt.Errorf("publisher: publish %s to %s: %w", id, msg.Subject, err)
	}
	return Ack{ID: id, Stream: pa.Stream, Sequence: pa.Sequence, Duplicate: pa.Duplicate}, nil
}
