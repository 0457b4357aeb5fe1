package milestones

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/workers"
)

// Name is the worker's (and its durable consumer's) name, and the role's.
const Name = "milestones"

// Options build the milestone worker from omq's settings.
type Options struct {
	Config   config.Config
	JS       jetstream.JetStream
	API      *openmoove.Client
	Topology streams.Topology
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	// CacheMaxAge overrides the handler's default (30m); tests shorten it.
	CacheMaxAge time.Duration
}

// New returns the milestone worker: a workers.Worker consuming every event
// subject with a Handler built from the settings (--milestone-map,
// --milestone-mode, --transaction-grace). It is a system.Component.
func New(ctx context.Context, o Options) (*workers.Worker, *Handler, error) {
	m, err := events.LoadMilestoneMap(o.Config.MilestoneMap)
	if err != nil {
		return nil, nil, err
	}
	h, err := NewHandler(ctx, Config{
		API: o.API, JS: o.JS, Topology: o.Topology, Map: m, Mode: o.Config.MilestoneMode,
		Grace: o.Config.TransactionGrace, CacheMaxAge: o.CacheMaxAge, Logger: o.Logger, Metrics: o.Metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	wc := workers.ConfigFrom(o.Config)
	wc.Name, wc.Stream = Name, o.Topology.EventsStream()
	wc.Subjects = []string{o.Topology.EventSubject(">")}
	wc.Handler = h.Handle
	wc.Probe = func(ctx context.Context) error { _, err := o.API.Products(ctx); return err }
	wc.Logger, wc.Metrics = o.Logger, o.Metrics
	w, err := workers.New(o.JS, wc)
	if err != nil {
		return nil, nil, err
	}
	return w, h, nil
}
