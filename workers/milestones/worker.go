package milestones

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Name is the worker's (and its durable consumer's) name, and the role's.
const Name = "milestones"

// Options build the milestone worker. JS and API are required; every other
// field has the default it names.
type Options struct {
	// Worker holds the worker's numbers (omq passes config.Config.Worker);
	// New sets its Name, Stream, Subjects, Handler, Probe, Topology, Logger
	// and Metrics. Default: the workers package defaults.
	Worker   workers.Config
	JS       jetstream.JetStream
	API      *openmoove.Client
	Topology streams.Topology // Default streams.New(streams.DefaultPrefix).
	// Map is the event type → milestone table. Default
	// events.DefaultMilestones() (--milestone-map loads another).
	Map events.MilestoneMap
	// Mode is ModeComplete (default) or ModeNotify.
	Mode string
	// Address is Config.Address: AddressKnown (default) or AddressRead.
	Address string
	// Grace is Config.Grace. Default DefaultGrace.
	Grace time.Duration
	// CacheMaxAge is Config.CacheMaxAge. Default DefaultCacheMaxAge; tests
	// shorten it.
	CacheMaxAge time.Duration
	Logger      *slog.Logger          // Default: discard.
	Metrics     prometheus.Registerer // Default: none.
}

// Worker is the milestone worker (a system.Component) and the Handler it
// runs, for tests and benchmarks that call the handler directly.
type Worker struct {
	*workers.Worker
	Handler *Handler
}

// New returns the milestone worker: a workers.Worker consuming every event
// subject with a Handler built from o.
func New(ctx context.Context, o Options) (*Worker, error) {
	h, err := NewHandler(ctx, Config{
		API: o.API, JS: o.JS, Topology: o.Topology, Map: o.Map, Mode: o.Mode, Address: o.Address,
		Grace: o.Grace, CacheMaxAge: o.CacheMaxAge, Logger: o.Logger, Metrics: o.Metrics,
	})
	if err != nil {
		return nil, err
	}
	top := h.cfg.Topology
	w, err := workers.New(o.JS, o.Worker.For(workers.Spec{
		Name: Name, Stream: top.EventsStream(), Subjects: []string{top.EventSubject(">")}, Handler: h.Handle,
		Topology: top, Probe: o.API.Probe, Logger: o.Logger, Metrics: o.Metrics,
	}))
	if err != nil {
		return nil, err
	}
	return &Worker{Worker: w, Handler: h}, nil
}
