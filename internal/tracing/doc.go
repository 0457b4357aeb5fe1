// Package tracing is omq's OpenTelemetry glue: the W3C trace context carried
// in NATS headers (traceparent, tracestate), the attribute keys omq's spans
// use, and the tracer every part takes its spans from.
//
// A trace starts where an event enters omq (the publisher package, omq
// publish and omq import, HTTP ingest) and is continued by the worker that
// consumes it. Parts deeper down (the API client, the budget, the outcome
// publish) take their tracer from the span already in their context
// (FromContext), so nothing below the worker needs a TracerProvider: with
// tracing off that span is the no-op one and so are theirs.
//
// This package imports only the OpenTelemetry API, which the publisher
// package (imported by upstream systems) can afford; the SDK and the OTLP
// exporter live in tracing/otlp, which only omq's own commands import.
//
// Attributes carry ids, types and subjects — never a name, email, phone
// number or address of a person.
package tracing
