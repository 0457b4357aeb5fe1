package properties

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// WorkerName is the property worker's durable consumer and role name.
const WorkerName = "properties"

// Options build the property worker of a running omq.
type Options struct {
	// Settings are omq's settings: the worker numbers, --assignments and
	// --default-estate-agent-email.
	Settings config.Config
	JS       jetstream.JetStream
	Topology streams.Topology
	API      *openmoove.Client
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	// AfterCreate is Config.AfterCreate (fault injection in tests).
	AfterCreate func(ctx context.Context, requestID string) error
}

// NewWorker returns the property worker: a workers.Worker on the commands
// stream's create_property subject with a Creator as its handler.
func NewWorker(o Options) (*workers.Worker, error) {
	table, err := assign.Load(o.Settings.Assignments)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wc := workers.ConfigFrom(o.Settings)
	c, err := NewCreator(ctx, Config{
		API: o.API, JS: o.JS, Topology: o.Topology, Assignments: table,
		DefaultEstateAgentEmail: o.Settings.DefaultEstateAgentEmail,
		Lease:                   2 * wc.WithDefaults().AckWait, Logger: o.Logger, AfterCreate: o.AfterCreate,
	})
	if err != nil {
		return nil, err
	}
	top := o.Topology.WithDefaults()
	wc.Name, wc.Stream, wc.Subjects = WorkerName, top.CommandsStream(), []string{top.CreatePropertySubject()}
	wc.Topology, wc.Handler, wc.Logger, wc.Metrics = top, c.Handle, o.Logger, o.Metrics
	wc.Probe = func(ctx context.Context) error { _, err := o.API.Products(ctx); return err }
	return workers.New(o.JS, wc)
}
