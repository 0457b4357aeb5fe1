package publisher

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/tracing"
)

// CreateOption tunes how CreateProperty validates a creation.
type CreateOption func(*createOptions)

type createOptions struct {
	fill events.Fill
}

// WithFill validates a creation as the property worker will complete it:
// fill adds to a copy what the worker would add (omq's assignment table,
// the default estate agent), so a creation the worker can complete is
// accepted and one it cannot is refused now, in the API's words. Default:
// none, the creation must be complete as given.
func WithFill(fill events.Fill) CreateOption {
	return func(o *createOptions) { o.fill = fill }
}

// CreateProperty validates req with the API's own rules
// (openmoove.ValidateCreate, after WithFill's completion), gives it a
// request_id when it has none, and queues it on
// <prefix>.commands.create_property (a WithLane(events.LaneBulk)
// publisher: <prefix>.commands.bulk.create_property, consumed apart so
// that the bulk lane never holds up live creations) with Nats-Msg-Id = the
// request_id,
// waiting for JetStream's ack. The Ack's ID is the request_id: keep it to
// follow the creation (omq import status, the property_created outcome).
// An invalid creation returns *openmoove.ValidationError and publishes
// nothing. Publishing the same request_id again creates no second property.
func (p *Publisher) CreateProperty(ctx context.Context, req events.CreateProperty, opts ...CreateOption) (Ack, error) {
	msg, err := p.propertyMsg(&req, opts)
	if err != nil {
		return Ack{}, err
	}
	ctx, span := p.startSpan(ctx, msg)
	defer span.End()
	requestAttributes(span, &req)
	ack, err := p.publishMsg(ctx, req.RequestID, msg)
	endSpan(span, err)
	return ack, err
}

// requestAttributes names a creation by its ids only: the rest of it is
// people and addresses.
func requestAttributes(span trace.Span, req *events.CreateProperty) {
	if span.IsRecording() {
		span.SetAttributes(tracing.KeyRequestID.String(req.RequestID))
	}
}

// AddProperty is CreateProperty inside a Batch: it validates, fills the
// request_id and starts publishing; it returns the request_id.
func (b *Batch) AddProperty(ctx context.Context, req events.CreateProperty, opts ...CreateOption) (string, error) {
	msg, err := b.p.propertyMsg(&req, opts)
	if err != nil {
		return "", err
	}
	_, span := b.p.startSpan(ctx, msg)
	defer span.End()
	requestAttributes(span, &req)
	err = b.add(ctx, req.RequestID, msg)
	endSpan(span, err)
	return req.RequestID, err
}

// propertyMsg validates req, fills its request_id and builds the message.
func (p *Publisher) propertyMsg(req *events.CreateProperty, opts []CreateOption) (*nats.Msg, error) {
	var o createOptions
	for _, f := range opts {
		f(&o)
	}
	if err := req.Validate(o.fill); err != nil {
		return nil, err
	}
	if req.RequestID == "" {
		req.RequestID = events.NewRequestID()
	}
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("publisher: encode creation %s: %w", req.RequestID, err)
	}
	return p.newMsg(p.creationSubject(), req.RequestID, body), nil
}

// creationSubject is where this publisher's creations go: a bulk
// publisher's to the bulk subject, which has its own consumer, so that an
// import the budget holds back never stands in front of live creations.
func (p *Publisher) creationSubject() string {
	if p.opt.lane == events.LaneBulk {
		return p.top.BulkCreatePropertySubject()
	}
	return p.top.CreatePropertySubject()
}
