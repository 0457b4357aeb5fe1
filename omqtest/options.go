package omqtest

import (
	"log/slog"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Config is omq's settings, one field per omq run flag (--ack-wait is
// AckWait, --milestone-mode is MilestoneMode, …; omq run --help lists them
// with their defaults). WithConfig changes them.
type Config = config.Config

// Defaults of the options.
const (
	// DefaultWait is how long the Require helpers wait before failing the
	// test, unless the test's own deadline (go test -timeout) comes first.
	DefaultWait = 15 * time.Second
	// DefaultStartTimeout bounds Start.
	DefaultStartTimeout = 30 * time.Second
)

// Option configures Start.
type Option func(*options)

type options struct {
	workers      []string
	sandbox      func(*sandbox.Config)
	config       []func(*Config)
	verbose      bool
	logLevel     slog.Level
	wait         time.Duration
	startTimeout time.Duration
	tracer       trace.TracerProvider
}

func defaultOptions() options {
	return options{
		logLevel: slog.LevelDebug, wait: DefaultWait, startTimeout: DefaultStartTimeout,
		// omq run seeds demo properties for a newcomer; a test starts from
		// an empty OpenMoove and seeds what it needs.
		sandbox: func(c *sandbox.Config) { c.Seed = 0 },
	}
}

// WithWorkers starts only the named workers, as omq run --only does
// ("milestones", "properties", "webhooks", "poller", "monitor"; omq run
// --help lists every role). Default: every role. The plumbing roles of
// alwaysRoles — the HTTP ingest and the dead-letter mover — are always
// started.
func WithWorkers(names ...string) Option {
	return func(o *options) {
		o.workers = append(o.workers, names...)
		for _, r := range system.Roles() {
			if slices.Contains(alwaysRoles, r.Name) && !slices.Contains(o.workers, r.Name) {
				o.workers = append(o.workers, r.Name)
			}
		}
	}
}

// alwaysRoles are started whatever WithWorkers names: a test that publishes
// over HTTP, or that waits for a dead letter whose deliveries ran out,
// needs them.
var alwaysRoles = []string{"ingest", "deadletters"}

// WithSandbox adjusts the sandbox's configuration before it starts: scaled
// rate limits (RateLimit, BurstLimit, RateWindow), Faults in force from the
// start, Rejects, Seed (default 0 here: the sandbox starts empty). The
// sandbox's key is set already (System.APIKey): keep it in Keys.
func WithSandbox(tweak func(*sandbox.Config)) Option {
	return func(o *options) {
		prev := o.sandbox
		o.sandbox = func(c *sandbox.Config) {
			if prev != nil {
				prev(c)
			}
			tweak(c)
		}
	}
}

// WithConfig adjusts omq's settings after this package's test defaults (see
// Start): for example c.MilestoneMode = "notify", c.MaxFailures = 3, or
// c.Assignments = "testdata/assignments.yaml".
func WithConfig(tweak func(c *Config)) Option {
	return func(o *options) { o.config = append(o.config, tweak) }
}

// WithTracerProvider sends the spans of omq and of the System's Publisher
// and DeadLetters to tp: with an SDK provider over an in-memory exporter
// (go.opentelemetry.io/otel/sdk/trace/tracetest) a test sees the trace one
// event leaves, from its publish to each API call and the outcome. Default:
// no-op spans, as omq run without --otel-endpoint.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// WithLogs writes omq's logs to t.Log as they come, instead of only when the
// test fails.
func WithLogs() Option { return func(o *options) { o.verbose = true } }

// WithLogLevel sets the level of the logs kept (and shown). Default debug.
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.logLevel = l } }

// WithWait sets how long the Require helpers wait before failing the test.
// Default DefaultWait (15s); the test's own deadline still wins.
func WithWait(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.wait = d
		}
	}
}

// testConfig is omq's defaults with every address on a free loopback port,
// the data in dir, and the worker timings scaled from seconds and minutes
// to milliseconds so that retries, pauses and grace periods play out
// within a test. The order of the numbers is kept (an in-process retry
// window shorter than AckWait, RetryMin below RetryMax, PauseMin below
// PauseMax), so the failure rule behaves as in production.
func testConfig(dir string) Config {
	c := config.Defaults()
	c.DataDir = dir
	c.NATSListen = "127.0.0.1:0"
	c.HTTP = "127.0.0.1:0"
	c.SandboxAddr = "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	c.IngestToken = IngestToken
	c.Concurrency = 4
	c.AckWait = 5 * time.Second
	c.InProcessRetries = 2
	c.InProcessRetryWindow = 500 * time.Millisecond
	c.RetryMin = 100 * time.Millisecond
	c.RetryMax = time.Second
	c.PauseMin = 200 * time.Millisecond
	c.PauseMax = time.Second
	c.TransactionGrace = 3 * time.Second
	return c
}
