// Package otlp installs omq's OpenTelemetry SDK: a tracer provider that
// batches spans to an OTLP/HTTP collector. Only omq's own commands import
// it; the publisher package and the workers take a trace.TracerProvider and
// never pull in the SDK.
//
// OTLP over HTTP rather than gRPC: the HTTP exporter needs no gRPC stack in
// the binary, and every collector (the OpenTelemetry Collector, Jaeger,
// Tempo, Honeycomb) accepts it on :4318.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME says otherwise.
const DefaultServiceName = "omq"

// Provider is an SDK tracer provider exporting to one collector.
type Provider struct {
	*sdktrace.TracerProvider
}

var _ trace.TracerProvider = (*Provider)(nil)

// New returns a Provider exporting to endpoint, an http(s) URL; a URL
// without a path gets OTLP's /v1/traces. version is service.version. The
// standard OTEL_* variables still apply (OTEL_EXPORTER_OTLP_HEADERS for a
// collector's credentials, OTEL_TRACES_SAMPLER for sampling,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Nothing is sent until a span
// ends; an unreachable collector costs dropped spans, never a stalled
// worker.
func New(ctx context.Context, endpoint, version string) (*Provider, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("otel endpoint: want an http(s) URL such as http://127.0.0.1:4318")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("otel endpoint %s: %w", u.Redacted(), err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", DefaultServiceName), attribute.String("service.version", version)))
	if err != nil {
		return nil, err
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	return NewWith(sdktrace.NewBatchSpanProcessor(exp), res), nil
}

// NewWith returns a Provider sending its spans to sp (tests: a
// tracetest.SpanRecorder or an in-memory exporter; benchmarks: a
// discarding exporter). res may be nil.
func NewWith(sp sdktrace.SpanProcessor, res *resource.Resource) *Provider {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(sp)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...)}
}

// Shutdown flushes the spans still batched and stops exporting; ctx bounds
// the flush. A nil Provider is a no-op, so a caller may defer it
// unconditionally.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := p.TracerProvider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}
