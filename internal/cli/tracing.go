package cli

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/tracing/otlp"
	"github.com/openmoove/omq/openmoove"
)

// flushTimeout bounds the export of a command's last spans on its way out:
// a collector that is down must not hold the command.
const flushTimeout = 5 * time.Second

// startTracing is the tracer provider of a command that publishes (omq
// publish, import, dlq replay): OTLP with --otel-endpoint, so the trace
// starts in the command and omq run's workers continue it; else the no-op
// one. flush exports what is left; call it before the command returns.
func startTracing(ctx context.Context, cfg *config.Config) (tp trace.TracerProvider, flush func(), err error) {
	if cfg.OTelEndpoint == "" {
		return noop.NewTracerProvider(), func() {}, nil
	}
	p, err := otlp.New(ctx, cfg.OTelEndpoint, openmoove.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("%w; check --otel-endpoint", err)
	}
	return p, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
		_ = p.Shutdown(ctx) // spans lost to a collector that is down are not the command's failure
	}, nil
}
