package properties

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// WorkerName is the property worker's durable consumer and role name.
const WorkerName = "properties"

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

// Worker is the property worker (a system.Component) and the Creator it
// runs.
type Worker struct {
	*workers.Worker
	Creator *Creator
}

// New returns the property worker: a workers.Worker on the commands
// stream's create_property subject with a Creator as its handler. ctx bounds
// opening the LEDGER bucket.
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
	wc.Name, wc.Stream, wc.Subjects = WorkerName, top.CommandsStream(), []string{top.CreatePropertySubject()}
	wc.Topology, wc.Handler, wc.Logger, wc.Metrics = top, c.Handle, o.Logger, o.Metrics
	wc.Probe = o.API.Probe
	w, err := workers.New(o.JS, wc)
	if err != nil {
		return nil, err
	}
	return &Worker{Worker: w, Creator: c}, nil
}
