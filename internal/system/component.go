package system

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Component is a long-running part of omq (a worker, the dead-letter mover,
// the poller, the monitor) keeping the one role contract, documented on
// workers.Component: Start returns once running, Stop is once-guarded,
// always cleans up, and on timeout names the component and what did not
// stop. The HTTP receivers (ingest, webhooks) are not components: they own
// no goroutine, only routes on the system's listener, which stops first.
type Component = workers.Component

// The in-process sandbox keeps the contract too, though it is stopped as a
// shutdown step of its own, after the NATS drain.
var _ Component = (*sandbox.Server)(nil)

// Deps is what a role gets to build its components.
type Deps struct {
	Config   config.Config
	Logger   *slog.Logger
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Topology streams.Topology
	// API is the OpenMoove client, pointed at the real API or the sandbox.
	API *openmoove.Client
	// APIConfig is the configuration API was built with, for components
	// that need a client of their own (with another BeforeRequest hook).
	APIConfig openmoove.Config
	Metrics   *prometheus.Registry
	// Mux is the HTTP listener's router; components add their routes.
	Mux *http.ServeMux
	// Store is told of writes NATS refuses for a full store (the budget's),
	// so that /readyz and /status can say so.
	Store *natserr.Watch
}

// Role is a named set of components that omq run starts together.
type Role struct {
	Name        string
	Description string
	// New builds the role's components from d (d.Config is omq's
	// settings); ctx bounds what building them opens (buckets, consumers).
	New func(ctx context.Context, d *Deps) ([]Component, error)
	// CallsAPI is set for roles that call OpenMoove; omq run checks the
	// API's URL and key at start only when one of them runs.
	CallsAPI bool
}
