package omqtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
)

// IngestToken is the bearer token of the HTTP ingest (POST /v1/events,
// POST /v1/properties) of every System, unless WithConfig changes it. It is
// not a secret: nothing outside the test process ever sees it.
const IngestToken = "omqtest-ingest-token"

// System is a whole omq running inside one test: an embedded NATS server
// with omq's streams, the sandbox standing in for the OpenMoove Partner API,
// the workers, and the HTTP listener. Start returns one; the test's
// Cleanup stops it. Its methods are safe for concurrent use.
type System struct {
	// Publisher publishes events and property creations as an upstream Go
	// system would. It shares the System's NATS connection: do not close it.
	Publisher *publisher.Publisher
	// NATSURL is the nats:// URL of the embedded server on 127.0.0.1 (a free
	// port), for clients in other languages or processes. The server
	// requires NATSUser and NATSPassword of every client, as omq run's does
	// (generated for this System; not a secret beyond the test). ConnectNATS
	// opens a Go connection with them.
	NATSURL      string
	NATSUser     string
	NATSPassword string
	// SandboxURL is the sandbox's Partner API base URL
	// (http://127.0.0.1:<port>/api/v1/partners/); APIKey is the key it
	// accepts.
	SandboxURL string
	APIKey     string
	// HTTPURL is omq's HTTP listener (http://127.0.0.1:<port>): POST
	// /v1/events and /v1/properties with "Authorization: Bearer
	// "+IngestToken, /healthz, /readyz, /metrics.
	HTTPURL string
	// Conn and JS are the System's own NATS connection and JetStream
	// context, for reading streams directly. Do not close Conn.
	Conn *nats.Conn
	JS   jetstream.JetStream
	// Topology names omq's streams, subjects and buckets.
	Topology streams.Topology
	// DeadLetters reads, replays and purges dead letters, as omq dlq does.
	DeadLetters *deadletter.Store

	sys     *system.System
	sandbox *sandbox.Server
	opts    options
	logs    *logBuffer
	out     *outcomeLog
	stop    sync.Once
}

// Start starts a System inside the test process and registers its Stop
// with t.Cleanup. It fails the test (t.Fatal) when omq cannot start; with
// the default options it takes a fraction of a second (see BENCHMARKS.md).
//
// Every address is 127.0.0.1 with a port the kernel picks, and the data
// lives in t.TempDir(), so any number of Systems run side by side in
// parallel tests. The logs of every part are kept and printed with t.Log if
// the test fails (WithLogs prints them as they come).
func Start(t testing.TB, opts ...Option) *System {
	t.Helper()
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	cfg := testConfig(t.TempDir())
	for _, f := range o.config {
		f(&cfg)
	}
	s := &System{opts: o, logs: newLogBuffer(o.logLevel)}
	logger := s.logs.logger(t, o.verbose)
	t.Cleanup(func() {
		if t.Failed() {
			s.logs.dump(t)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), o.startTimeout)
	defer cancel()
	sys, err := system.Start(ctx, system.Options{Config: cfg, Logger: logger, Only: o.workers, Sandbox: o.sandbox, MemoryStreams: true,
		TracerProvider: o.tracer})
	if err != nil {
		s.logs.dump(t)
		t.Fatalf("omqtest: start omq: %v", err)
	}
	s.sys = sys
	t.Cleanup(func() { s.Stop(t) })

	d := sys.Deps()
	s.Conn, s.JS, s.Topology = d.Conn, d.JS, d.Topology
	s.NATSURL, s.SandboxURL = sys.NATSURL(), sys.SandboxURL()
	s.NATSUser, s.NATSPassword, _ = sys.NATSCredentials()
	if addr := sys.HTTPAddr(); addr != "" {
		s.HTTPURL = "http://" + addr
	}
	s.sandbox = sys.Sandbox()
	s.APIKey = d.APIConfig.APIKey
	s.DeadLetters = deadletter.NewStore(d.JS, d.Topology)
	s.DeadLetters.TracerProvider = d.TracerProvider
	s.out = &outcomeLog{js: d.JS, stream: d.Topology.OutcomesStream()}
	pub, err := publisher.New(d.Conn, publisher.WithPrefix(d.Topology.Prefix), publisher.WithTracerProvider(d.TracerProvider))
	if err != nil {
		t.Fatalf("omqtest: publisher: %v", err)
	}
	s.Publisher = pub
	return s
}

// Stop stops the System now, in omq's shutdown order (HTTP, workers, NATS
// drain, sandbox, NATS server), and fails the test if a part does not stop
// cleanly within 10s. The test's Cleanup calls it; calling it earlier (to
// test what happens after a shutdown, or in a benchmark) is fine, and later
// calls do nothing.
func (s *System) Stop(t testing.TB) {
	t.Helper()
	s.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.sys.Stop(ctx)
		s.logs.stop()
		if err != nil {
			t.Errorf("omqtest: stop omq: %v", err)
		}
	})
}

// ConnectNATS opens a TCP connection to the System's NATS, as a client in
// another process would (NATSURL with NATSUser and NATSPassword), and
// closes it when the test ends. opts add to or override the defaults.
func (s *System) ConnectNATS(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.Name(t.Name()), nats.UserInfo(s.NATSUser, s.NATSPassword)}, opts...)
	nc, err := nats.Connect(s.NATSURL, opts...)
	if err != nil {
		t.Fatalf("omqtest: connect to NATS at %s: %v", s.NATSURL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Sandbox is the in-process sandbox, for what the knobs of this package do
// not cover: the request journal (Requests), rejects (AddReject), the
// properties it holds (Properties, Lookup), CompleteMilestone.
func (s *System) Sandbox() *sandbox.Server { return s.sandbox }
