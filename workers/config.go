package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/tracing"
	"github.com/openmoove/omq/streams"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("workers: invalid config")

// The defaults of Config, named once: WithDefaults fills them in, and omq's
// settings (package config) take theirs from here.
const (
	DefaultConcurrency          = 8
	DefaultAckWait              = 30 * time.Second
	DefaultMaxDeliver           = 20
	DefaultMaxFailures          = 8
	DefaultRetryMin             = 5 * time.Second
	DefaultRetryMax             = 5 * time.Minute
	DefaultInProcessRetries     = 3
	DefaultInProcessRetryWindow = 5 * time.Second
	DefaultBreakerTransient     = 5
	DefaultPauseMin             = 15 * time.Second
	DefaultPauseMax             = 5 * time.Minute
	DefaultProbeEvery           = 10 * time.Second
)

// Config configures a Worker. Every number has a documented default, filled
// by WithDefaults; Name, Stream and Handler are required.
type Config struct {
	// Name is the durable consumer's name and the worker's name in logs,
	// metrics and the Omq-Worker header. Required; a NATS name token
	// (letters, digits, '-' and '_').
	Name string
	// Stream is the stream consumed. Required.
	Stream string
	// Subjects filter the stream; empty consumes all of it.
	Subjects []string
	// Handler does the work. Required.
	Handler Handler

	// Concurrency is how many handlers run at once. The worker also pulls
	// up to Concurrency messages ahead of its handlers (so at most twice
	// Concurrency are delivered and unacknowledged); a message's handler
	// deadline counts from when it may have arrived, so waiting for a slot
	// never pushes it past AckWait. Default 8.
	Concurrency int
	// AckWait is how long the server waits for an ack before redelivering.
	// The handler's context ends at 90% of it. Default 30s.
	AckWait time.Duration
	// MaxDeliver is the server's limit on deliveries of one message; the
	// last delivery that fails is dead-lettered. Default 20; at least 2.
	MaxDeliver int
	// MaxFailures is how many real failures (Transient, handed back) a
	// message may have before it is dead-lettered as exhausted. Pauses and
	// throttles are not failures. Default 8; less than MaxDeliver.
	MaxFailures int
	// RetryMin and RetryMax bound NakWithDelay after a Transient failure:
	// RetryMin doubling per recorded failure up to RetryMax, with ±20%
	// jitter. Defaults 5s and 5m.
	RetryMin time.Duration
	RetryMax time.Duration
	// InProcessRetries is how many times a Transient failure is retried in
	// process before the message is handed back. Default 3; -1 for none.
	InProcessRetries int
	// InProcessRetryWindow bounds those retries, the first call included;
	// it is cut to the handler's deadline. Default 5s; less than AckWait.
	InProcessRetryWindow time.Duration
	// BreakerTransient is how many Transient failures in a row open the
	// breaker. Default 5. One Systemic failure always does.
	BreakerTransient int
	// PauseMin and PauseMax bound the breaker's pause: PauseMin, doubling
	// while the probe keeps failing, up to PauseMax. Defaults 15s and 5m.
	PauseMin time.Duration
	PauseMax time.Duration
	// Probe is a cheap call that tells whether the API is back (omq uses
	// GET /products/). The breaker calls it, never a message, when a pause
	// ends: nil resumes the consumer, an error pauses it again for longer.
	// Default: none; the pause then simply runs out.
	Probe func(ctx context.Context) error
	// ProbeEvery is how often the instance that opened the breaker probes
	// while the pause lasts, besides the probe shortly before it ends: so
	// the API's return is noticed within ProbeEvery, not at the end of a
	// pause that has grown to PauseMax. Default 10s.
	ProbeEvery time.Duration
	// Lane, when set, is the lane (events.Lane) of the whole consumer: every
	// message on it is of this lane or lower, whatever its Omq-Lane header
	// says (a header may lower a message's lane, never raise it above
	// Lane), so a publisher cannot jump the queue by header. When the
	// budget turns the lane away the worker holds, fetching nothing and so
	// spending no deliveries, until the lane's wait ends: no message behind
	// the held ones on this consumer is of a higher lane, so there is
	// nothing to let pass (see laneHolds for the consumers that mix lanes).
	// omq's properties-bulk worker is LaneBulk. Default "": the header
	// alone decides, and lower lanes stand aside for live messages.
	Lane events.Lane
	// BreakerGroup names the API the worker calls. Workers of one group
	// share their breaker: the first to find the API down pauses every
	// worker of the group (each its own consumer, for every replica), and
	// one good probe resumes them all. omq's workers are all in group
	// "openmoove". Default "": a breaker of its own.
	BreakerGroup string

	// Topology names the DLQ stream and the FAILURES and BREAKER buckets.
	// Default streams.New(streams.DefaultPrefix).
	Topology streams.Topology
	// Logger receives the worker's logs. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, receives the worker's collectors (outcomes, latency,
	// breaker state, consumer state). Default: none.
	Metrics prometheus.Registerer
	// TracerProvider receives a span per delivery, continuing the trace
	// whose W3C traceparent the message carries (the publisher package puts
	// it there); the handler's context holds that span, so the API calls
	// and outcome publishes made with it are its children. Default: the
	// global provider (otel.GetTracerProvider), a no-op unless the program
	// installed one.
	TracerProvider trace.TracerProvider

	// afterDeadLetter, when set (tests), runs between the DLQ publish and the
	// Term: the fault-injection point for "crash in between".
	afterDeadLetter func(m *Message)
}

// WithDefaults returns a copy of c with every unset field given its default.
func (c Config) WithDefaults() Config {
	setInt(&c.Concurrency, DefaultConcurrency)
	setDur(&c.AckWait, DefaultAckWait)
	setInt(&c.MaxDeliver, DefaultMaxDeliver)
	setInt(&c.MaxFailures, DefaultMaxFailures)
	setDur(&c.RetryMin, DefaultRetryMin)
	setDur(&c.RetryMax, DefaultRetryMax)
	setInt(&c.InProcessRetries, DefaultInProcessRetries)
	setDur(&c.InProcessRetryWindow, DefaultInProcessRetryWindow)
	setInt(&c.BreakerTransient, DefaultBreakerTransient)
	setDur(&c.PauseMin, DefaultPauseMin)
	setDur(&c.PauseMax, DefaultPauseMax)
	setDur(&c.ProbeEvery, DefaultProbeEvery)
	c.Topology = c.Topology.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first unusable field and what it accepts.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	switch {
	case !validName(c.Name):
		return bad("Name %q must be a non-empty NATS name of letters, digits, '-' and '_'", c.Name)
	case c.Stream == "":
		return bad("Stream is required (the stream to consume, such as OPENMOOVE_EVENTS)")
	case c.Handler == nil:
		return bad("Handler is required")
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return bad("Concurrency must be 1..1024, got %d", c.Concurrency)
	case c.AckWait < 10*time.Millisecond:
		return bad("AckWait must be at least 10ms, got %s", c.AckWait)
	case c.MaxDeliver < 2:
		return bad("MaxDeliver must be at least 2, got %d", c.MaxDeliver)
	case c.MaxFailures < 1 || c.MaxFailures >= c.MaxDeliver:
		return bad("MaxFailures must be 1..MaxDeliver-1 (%d), got %d", c.MaxDeliver-1, c.MaxFailures)
	case c.RetryMin <= 0 || c.RetryMax < c.RetryMin:
		return bad("RetryMin must be positive and RetryMax at least RetryMin, got %s and %s", c.RetryMin, c.RetryMax)
	case c.InProcessRetries < -1 || c.InProcessRetries > 10:
		return bad("InProcessRetries must be -1 (none) or 1..10, got %d", c.InProcessRetries)
	case c.InProcessRetryWindow <= 0 || c.InProcessRetryWindow >= c.AckWait:
		return bad("InProcessRetryWindow must be positive and shorter than AckWait (%s), got %s", c.AckWait, c.InProcessRetryWindow)
	case c.BreakerTransient < 1:
		return bad("BreakerTransient must be at least 1, got %d", c.BreakerTransient)
	case c.PauseMin <= 0 || c.PauseMax < c.PauseMin:
		return bad("PauseMin must be positive and PauseMax at least PauseMin, got %s and %s", c.PauseMin, c.PauseMax)
	case c.ProbeEvery < 0:
		return bad("ProbeEvery must be positive (0 for the default, %s), got %s", DefaultProbeEvery, c.ProbeEvery)
	case c.Lane != "" && !validLane(c.Lane):
		return bad("Lane %q must be empty (the header decides) or one of %v", c.Lane, events.Lanes())
	case c.BreakerGroup != "" && !validName(c.BreakerGroup):
		return bad("BreakerGroup %q must be empty or a name of letters, digits, '-' and '_'", c.BreakerGroup)
	}
	return nil
}

// tracer is the tracer of the worker's deliveries, nil when the provider
// is the no-op one (omq run without --otel-endpoint): a delivery then costs
// no tracing work at all.
func (c Config) tracer() trace.Tracer {
	if _, off := c.TracerProvider.(noop.TracerProvider); off {
		return nil
	}
	return tracing.Tracer(c.TracerProvider)
}

func validLane(l events.Lane) bool {
	_, err := events.ParseLane(string(l))
	return err == nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

// Spec is what tells one worker from another, beside the numbers of its
// Config: what it consumes, what it does, and where it reports.
type Spec struct {
	Name     string           // Config.Name
	Stream   string           // Config.Stream
	Subjects []string         // Config.Subjects
	Handler  Handler          // Config.Handler
	Lane     events.Lane      // Config.Lane
	Topology streams.Topology // Config.Topology
	// Probe is Config.Probe; omq's workers pass openmoove.Client.Probe.
	Probe   func(ctx context.Context) error
	Logger  *slog.Logger          // Config.Logger
	Metrics prometheus.Registerer // Config.Metrics
}

// For returns c with s's fields set: the one way omq's role packages
// assemble a worker from the numbers they were given.
func (c Config) For(s Spec) Config {
	c.Name, c.Stream, c.Subjects, c.Handler, c.Lane = s.Name, s.Stream, s.Subjects, s.Handler, s.Lane
	c.Topology, c.Probe, c.Logger, c.Metrics = s.Topology, s.Probe, s.Logger, s.Metrics
	return c
}
