package workers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/openmoove/omq/streams"
)

// discardExporter drops every span: the SDK does all its work and nothing
// leaves the process.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// tracerProviders are the three ways a worker runs: omq run without
// --otel-endpoint (the no-op provider), a library user who set nothing
// (the global delegate), and tracing on (the SDK sampling every span,
// batched to an exporter that discards).
func tracerProviders(b *testing.B) []struct {
	name string
	tp   trace.TracerProvider
} {
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	return []struct {
		name string
		tp   trace.TracerProvider
	}{{"off", noop.NewTracerProvider()}, {"global", nil}, {"on", sdk}}
}

// BenchmarkDeliverySpan is what tracing adds to one delivery in the
// runtime: continue the traceparent the message carries, start the span,
// put it in the handler's context, end it. Allocations are exact whatever
// the machine's load.
//
//	go test ./workers -run '^$' -bench DeliverySpan -benchmem
func BenchmarkDeliverySpan(b *testing.B) {
	parent := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	_, ps := parent.Tracer("bench").Start(context.Background(), "publish")
	h := nats.Header{}
	h.Set("traceparent", fmt.Sprintf("00-%s-%s-01", ps.SpanContext().TraceID(), ps.SpanContext().SpanID()))
	for _, p := range tracerProviders(b) {
		b.Run(p.name, func(b *testing.B) {
			w := &Worker{cfg: Config{Name: "bench"}}
			w.tracer = Config{TracerProvider: p.tp}.tracer()
			b.ReportAllocs()
			m := &Message{Subject: "openmoove.events.x", Header: h, Stream: "S", Seq: 1, Deliveries: 1, MsgID: "e"}
			for b.Loop() {
				m.span = nil
				span := w.startSpan(m)
				if m.span != nil { // as call() does
					_ = trace.ContextWithSpan(context.Background(), m.span)
				}
				endSpan(span, nil)
				spanOutcome(m, "acked")
				span.End()
			}
		})
	}
}

// BenchmarkEngineTracing is BenchmarkEngine's runtime row (trivial
// handler, concurrency 8, loopback NATS) with tracing off, as a library
// user leaves it (global), and on. The events carry no traceparent, so each
// delivery roots a trace of its own: the same span work as a continued one.
//
//	GOMAXPROCS=2 go test ./workers -run '^$' -bench EngineTracing -benchtime 5000x -count 5
func BenchmarkEngineTracing(b *testing.B) {
	for _, p := range tracerProviders(b) {
		b.Run("tracing="+p.name, func(b *testing.B) {
			start := func(b *testing.B, js jetstream.JetStream, top streams.Topology, conc int, h Handler) func() {
				w, err := New(js, Config{Name: "bench", Stream: top.EventsStream(), Handler: h, Concurrency: conc, Topology: top, TracerProvider: p.tp})
				if err != nil {
					b.Fatal(err)
				}
				if err := w.Start(b.Context()); err != nil {
					b.Fatal(err)
				}
				return func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if err := w.Stop(ctx); err != nil {
						b.Error(err)
					}
				}
			}
			benchEngine(b, 8, func(context.Context, *Message) error { return nil }, start)
		})
	}
}
