package properties

import (
	"context"
	"errors"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// WorkerName is the property worker's durable consumer and role name: the
// consumer of live creations (<prefix>.commands.create_property).
const WorkerName = "properties"

// BulkWorkerName is the durable consumer of bulk creations
// (<prefix>.commands.bulk.create_property): omq import, ingest arrays. It
// runs with the properties role, the same handler and ledger, its own
// consumer, so that a bulk lane the API budget turns away holds only it.
const BulkWorkerName = "properties-bulk"

// Options build the property worker. JS and API are required; every other
// field has the default it names.
type Options struct {
	// Worker holds the worker's numbers (omq passes config.Config.Worker);
	// New sets its Name, Stream, Subjects, Handler, Probe, Topology, Logger
	// and Metrics. Default: the workers package defaults.
	Worker   workers.Config
	JS       jetstream.JetStream
	Topology streams.Topology // Default streams.New(streams.DefaultPrefix).
	API      *openmoove.Client
	// Assignments is Config.Assignments (--assignments). Default: none.
	Assignments *assign.Table
	// DefaultEstateAgentEmail is Config.DefaultEstateAgentEmail
	// (--default-estate-agent-email). Default: none.
	DefaultEstateAgentEmail string
	Logger                  *slog.Logger          // Default: discard.
	Metrics                 prometheus.Registerer // Default: none.
	// AfterCreate is Config.AfterCreate (fault injection in tests).
	AfterCreate func(ctx context.Context, requestID string) error
}

// Worker is the property worker (a workers.Component) and the Creator it
// runs: two consumers of the commands stream with one Creator, the live
// one (WorkerName) and the bulk one (BulkWorkerName). Start and Stop run
// both, so neither can be left running alone; Name is the role's.
type Worker struct {
	live *workers.Worker
	// bulk consumes the bulk subject with workers.Config.Lane bulk: when
	// the budget turns the bulk lane away it holds, fetching nothing,
	// while the live consumer goes on.
	bulk    *workers.Worker
	Creator *Creator
}

// New returns the property worker: a workers.Worker on the commands
// stream's create_property subject and one on its bulk.create_property
// subject, both with a Creator as their handler and the numbers of
// o.Worker. ctx bounds opening the LEDGER bucket.
func New(ctx context.Context, o Options) (*Worker, error) {
	wc := o.Worker.WithDefaults()
	top := o.Topology.WithDefaults()
	c, err := NewCreator(ctx, Config{
		API: o.API, JS: o.JS, Topology: top, Assignments: o.Assignments,
		DefaultEstateAgentEmail: o.DefaultEstateAgentEmail,
		Lease:                   2 * wc.AckWait, Logger: o.Logger, AfterCreate: o.AfterCreate,
	})
	if err != nil {
		return nil, err
	}
	spec := func(name, subject string, lane events.Lane) workers.Config {
		return wc.For(workers.Spec{
			Name: name, Stream: top.CommandsStream(), Subjects: []string{subject}, Handler: c.Handle, Lane: lane,
			Topology: top, Probe: o.API.Probe, Logger: o.Logger, Metrics: o.Metrics,
		})
	}
	live, err := workers.New(o.JS, spec(WorkerName, top.CreatePropertySubject(), ""))
	if err != nil {
		return nil, err
	}
	bulk, err := workers.New(o.JS, spec(BulkWorkerName, top.BulkCreatePropertySubject(), events.LaneBulk))
	if err != nil {
		return nil, err
	}
	return &Worker{live: live, bulk: bulk, Creator: c}, nil
}

var _ workers.Component = (*Worker)(nil)

// Name is the role's name, that of the live consumer (the bulk one is
// BulkWorkerName).
func (w *Worker) Name() string { return w.live.Name() }

// Start starts the live consumer, then the bulk one; if the bulk one
// cannot start, the live one is stopped again and the error returned.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.live.Start(ctx); err != nil {
		return err
	}
	if err := w.bulk.Start(ctx); err != nil {
		_ = w.live.Stop(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// Stop stops both consumers at once, each within ctx, and returns their
// errors joined (each names its worker). Like theirs, a second call
// returns the first call's result.
func (w *Worker) Stop(ctx context.Context) error {
	bulk := make(chan error, 1)
	go func() { bulk <- w.bulk.Stop(ctx) }()
	return errors.Join(w.live.Stop(ctx), <-bulk)
}
