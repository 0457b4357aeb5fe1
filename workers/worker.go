package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/internal/lifecycle"
	"github.com/openmoove/omq/internal/logging"
)

// fetchWait bounds one pull request: how long the worker waits for messages
// before asking again (and noticing a pause, a hold or Stop).
const fetchWait = 2 * time.Second

// pullExpiry bounds one pull request of the consuming iterator. Draining
// the iterator when the breaker opens waits for the pull in flight, and a
// paused consumer never completes it: nats.go's 30s default would keep a
// worker idle that long after omq breaker resume.
const pullExpiry = 5 * time.Second

// pullHeartbeat is how often the server confirms a pull request it holds.
// Two missed ones (4s) and the iterator pulls again: after the consumer's
// leader dies (a cluster node lost), a worker with work queued notices
// within seconds instead of sitting idle until nats.go's default heartbeat
// (half the expiry, up to 30s with the default expiry) gives up. At most
// half of pullExpiry, as the server requires.
const pullHeartbeat = 2 * time.Second

// Worker runs one durable consumer through the failure rule. It is a
// Component.
type Worker struct {
	js     jetstream.JetStream
	cfg    Config
	log    *slog.Logger
	tracer trace.Tracer

	cons     jetstream.Consumer
	failures *failureLog
	breaker  *breaker
	metrics  *metrics
	hold     holdUntil
	lanes    laneHolds

	slots    chan struct{}
	inflight sync.WaitGroup
	// stopping is closed when Stop begins: in-process retries give up.
	stopping chan struct{}
	// handlerCtx is the parent of every handler's context; cancelHandlers
	// ends it when Stop's ctx runs out.
	handlerCtx     context.Context
	cancelHandlers context.CancelFunc
	cancelLoop     context.CancelFunc
	loopDone       chan struct{}
	startOnce      sync.Once
	stopOnce       lifecycle.Once
	started        bool
}

// New checks cfg (after WithDefaults) and returns a Worker; Start creates or
// updates its consumer and starts consuming.
func New(js jetstream.JetStream, cfg Config) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Worker{
		js: js, cfg: cfg,
		log:      cfg.Logger.With(logging.KeyComponent, "worker", logging.KeyWorker, cfg.Name),
		slots:    make(chan struct{}, cfg.Concurrency),
		stopping: make(chan struct{}),
		loopDone: make(chan struct{}),
		tracer:   cfg.tracer(),
	}
	w.handlerCtx, w.cancelHandlers = context.WithCancel(context.Background())
	return w, nil
}

// Name is the worker's (and its consumer's) name.
func (w *Worker) Name() string { return w.cfg.Name }

// Start creates or updates the durable consumer (explicit ack, AckWait,
// MaxDeliver, no BackOff; a pause in force is kept) and starts the handlers.
// It returns once consumption runs; ctx bounds the start only.
func (w *Worker) Start(ctx context.Context) error {
	err := errors.New("workers: Start called twice")
	w.startOnce.Do(func() { err = w.start(ctx) })
	return err
}

func (w *Worker) start(ctx context.Context) error {
	top := w.cfg.Topology
	fkv, err := w.js.KeyValue(ctx, top.FailuresBucket())
	if err != nil {
		return fmt.Errorf("workers: %s: open bucket %s (run omq streams apply): %w", w.cfg.Name, top.FailuresBucket(), err)
	}
	bkv, err := w.js.KeyValue(ctx, top.BreakerBucket())
	if err != nil {
		return fmt.Errorf("workers: %s: open bucket %s (run omq streams apply): %w", w.cfg.Name, top.BreakerBucket(), err)
	}
	w.failures = &failureLog{kv: fkv}
	cc := jetstream.ConsumerConfig{
		Durable: w.cfg.Name, Description: "omq worker " + w.cfg.Name,
		AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait: w.cfg.AckWait, MaxDeliver: w.cfg.MaxDeliver,
		MaxAckPending: max(1000, 4*w.cfg.Concurrency),
	}
	switch len(w.cfg.Subjects) {
	case 0:
	case 1:
		cc.FilterSubject = w.cfg.Subjects[0]
	default:
		cc.FilterSubjects = w.cfg.Subjects
	}
	// Updating a consumer without PauseUntil would resume it: keep a pause
	// another replica's breaker set.
	if old, err := w.js.Consumer(ctx, w.cfg.Stream, w.cfg.Name); err == nil {
		if pu := old.CachedInfo().Config.PauseUntil; pu != nil && pu.After(time.Now()) {
			cc.PauseUntil = pu
		}
	}
	w.cons, err = w.js.CreateOrUpdateConsumer(ctx, w.cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("workers: %s: create consumer on %s: %w", w.cfg.Name, w.cfg.Stream, err)
	}
	w.metrics = newMetrics(w)
	if err := w.metrics.register(w.cfg.Metrics); err != nil {
		return err
	}
	w.breaker = newBreaker(w, bkv)
	if err := w.breaker.start(ctx); err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	w.cancelLoop = cancel
	w.started = true
	go w.loop(loopCtx)
	w.log.Info("worker started", logging.KeyStream, w.cfg.Stream, "concurrency", w.cfg.Concurrency,
		"ack_wait", w.cfg.AckWait, "max_deliver", w.cfg.MaxDeliver)
	return nil
}

// Stop stops fetching and waits, within ctx, for the handlers in flight to
// finish and their messages to be acked or handed back. When ctx ends first,
// the handlers' contexts are cancelled and Stop returns an error naming the
// worker and how many handlers were still running, wrapping ctx's error;
// their messages are redelivered after AckWait, never lost. Either way the
// breaker's watch ends and the metrics are unregistered. A second call
// returns the first call's result (see Component).
func (w *Worker) Stop(ctx context.Context) error {
	return w.stopOnce.Do(func() error { return w.stop(ctx) })
}

func (w *Worker) stop(ctx context.Context) error {
	close(w.stopping)
	if !w.started {
		w.cancelHandlers()
		return nil
	}
	w.cancelLoop()
	<-w.loopDone
	done := lifecycle.Done(&w.inflight)
	err := lifecycle.Wait(ctx, done, "workers: "+w.cfg.Name, w.stillRunning)
	if err != nil {
		// Cancelled, a handler that honours its context settles its message
		// at once; give it that moment.
		w.cancelHandlers()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	w.cancelHandlers()
	w.breaker.stop()
	w.metrics.unregister(w.cfg.Metrics)
	w.log.Info("worker stopped")
	return err
}

// stillRunning says what a timed-out Stop leaves behind: every handler in
// flight holds a slot.
func (w *Worker) stillRunning() string {
	if n := len(w.slots); n != 1 {
		return fmt.Sprintf("%d handlers still running, their messages will be redelivered", n)
	}
	return "1 handler still running, its message will be redelivered"
}

// loop consumes while the worker may fetch: one pull iterator at a time,
// each ended by a hold, the breaker, an error or Stop.
func (w *Worker) loop(ctx context.Context) {
	defer close(w.loopDone)
	for ctx.Err() == nil {
		if !w.waitReady(ctx) {
			return
		}
		w.consume(ctx)
	}
}
