package tracing

import (
	"context"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of every omq span.
const Scope = "github.com/openmoove/omq"

// Attribute keys of omq's spans. Ids and types only: no personal data.
const (
	KeyEventID       = attribute.Key("omq.event.id")
	KeyTransactionID = attribute.Key("omq.transaction.id")
	KeyEventType     = attribute.Key("omq.event.type")
	KeyRequestID     = attribute.Key("omq.request.id")
	KeyLane          = attribute.Key("omq.lane")
	KeyWorker        = attribute.Key("omq.worker")
	KeyDelivery      = attribute.Key("omq.delivery")
	KeyFailure       = attribute.Key("omq.failure.kind")
	KeyDeadLetter    = attribute.Key("omq.dead_letter.id")
	KeyMessageID     = attribute.Key("messaging.message.id")
	KeyOutcome       = attribute.Key("omq.outcome")      // what the worker did: acked, retried, dead_lettered…
	KeyOutcomeKind   = attribute.Key("omq.outcome.kind") // an outcome message's kind: milestone_completed…
	KeySubject       = attribute.Key("messaging.destination.name")
	KeyStream        = attribute.Key("omq.stream")
	KeySeq           = attribute.Key("omq.stream.seq")
	KeyHTTPMethod    = attribute.Key("http.request.method")
	KeyHTTPStatus    = attribute.Key("http.response.status_code")
	KeyURLPath       = attribute.Key("url.path")
)

// propagator is W3C trace context, whatever the process's global
// propagator: omq promises traceparent in its headers, and otel's default
// global propagator injects nothing.
var propagator = propagation.TraceContext{}

// Tracer returns tp's omq tracer; nil means the global provider, which is
// the no-op one unless the program installed another.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(Scope)
}

// FromContext is the tracer of the span in ctx: a part called inside a
// traced handler continues its trace with the same provider, and one called
// outside any trace makes no-op spans.
func FromContext(ctx context.Context) trace.Tracer {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(Scope)
}

// Inject writes ctx's span context into h as traceparent (and tracestate).
// Nothing is written when ctx carries no valid span context.
func Inject(ctx context.Context, h nats.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, Carrier(h))
}

// Extract returns ctx carrying the remote span context in h, if any.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return propagator.Extract(ctx, Carrier(h))
}

// ExtractHTTP returns ctx carrying the remote span context of an HTTP
// request's traceparent header, if any: ingest continues its caller's trace.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// SpanContext is the span context h carries; invalid when it carries none.
func SpanContext(h nats.Header) trace.SpanContext {
	return trace.SpanContextFromContext(Extract(context.Background(), h))
}

// Carrier adapts nats.Header to propagation.TextMapCarrier. NATS header
// keys are case-sensitive and W3C names its keys in lower case, so the keys
// are used exactly as the propagator gives them.
type Carrier nats.Header

// Get returns the first value of key.
func (c Carrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces key's values with value.
func (c Carrier) Set(key, value string) { c[key] = []string{value} }

// Keys lists the keys present.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = Carrier(nil)

// Route is an API path with its ids replaced by {id}
// ("/properties/{id}/milestones/"): a span name of a handful of values.
func Route(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && (strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) < 0 || len(p) >= 32) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}
