package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/workers/milestones"
)

// discard is an exporter that drops every span after counting it: the SDK
// does all its work (sampling, recording, batching) and nothing leaves the
// process, so the row measures omq's cost, not a collector's.
type discard struct{ spans atomic.Int64 }

func (d *discard) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	d.spans.Add(int64(len(s)))
	return nil
}

func (d *discard) Shutdown(context.Context) error { return nil }

// tracedOMQ is startOMQ with the worker's spans going to tp.
func tracedOMQ(tp trace.TracerProvider) func(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error) {
	return func(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error) {
		nc, js, err := e.conn("omq")
		if err != nil {
			return nil, nil, err
		}
		wc := workerConfig(conc).Worker()
		wc.TracerProvider = tp
		w, err := milestones.New(ctx, milestones.Options{Worker: wc, JS: js, API: api, Topology: e.top})
		if err != nil {
			nc.Close()
			return nil, nil, err
		}
		if err := w.Start(ctx); err != nil {
			nc.Close()
			return nil, nil, err
		}
		return w.Handler, func() {
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = w.Stop(c)
			nc.Close()
		}, nil
	}
}

// tracingSection is the engine row twice in one run: the omq milestone
// worker with tracing off (the no-op provider omq run installs without
// --otel-endpoint) and on (the SDK sampling every span, batched to an
// exporter that discards). Rounds alternate the two, as the engine
// section's do, and each figure is the median.
func tracingSection(ctx context.Context, e *natsEnv, t *table, txs, conc, rounds int) error {
	if !want("tracing") {
		return nil
	}
	exp := &discard{}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	variants := []engine{
		{name: "omq milestone worker, tracing off (no-op provider, no SDK)", consumer: milestones.Name, start: tracedOMQ(noop.NewTracerProvider())},
		{name: "omq milestone worker, tracing on (SDK, every span sampled, exporter discards)", consumer: milestones.Name, start: tracedOMQ(sdk)},
	}
	for _, v := range variants { // warm-up, discarded
		if _, _, _, err := runEngine(ctx, e, v, txs/5, conc, 0); err != nil {
			return err
		}
	}
	all := map[string][]float64{}
	var events int
	before := exp.spans.Load()
	for range rounds {
		for _, v := range variants {
			r, _, n, err := runEngine(ctx, e, v, txs, conc, 0)
			if err != nil {
				return err
			}
			all[v.name] = append(all[v.name], r)
			if v.name == variants[1].name {
				events += n
			}
		}
	}
	if err := sdk.ForceFlush(ctx); err != nil {
		return err
	}
	for _, v := range variants {
		t.add("8 tracing", fmt.Sprintf("%s, %d events, concurrency %d (median of %d)", v.name, txs*5, conc, rounds),
			fmt.Sprintf("%.0f events/s", median(all[v.name])), "runs "+fmtRates(all[v.name]))
	}
	off, on := median(all[variants[0].name]), median(all[variants[1].name])
	t.add("8 tracing", "tracing on ÷ off", fmt.Sprintf("%.2f (spans per event %.1f)", on/off, float64(exp.spans.Load()-before)/float64(events)), "")
	return nil
}
