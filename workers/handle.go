package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/retry"
	"github.com/openmoove/omq/internal/tracing"
)

// settleTimeout bounds each JetStream call that settles a message (DLQ
// publish, ack, failure record). It is independent of the handler's context
// so that a message is settled even while the worker stops.
const settleTimeout = 10 * time.Second

// handle runs one delivery through the failure rule. It holds one slot.
func (w *Worker) handle(msg jetstream.Msg, received time.Time) {
	defer w.inflight.Done()
	defer func() { <-w.slots }()
	m, err := newMessage(w.cfg.Stream, w.cfg.Lane, msg)
	if err != nil {
		// Not a JetStream delivery: nothing to settle.
		w.log.Error("delivery without metadata; ignored", logging.KeyError, err)
		return
	}
	span := w.startSpan(m)
	defer span.End()
	log := w.log.With(logging.KeyStream, m.Stream, logging.KeySeq, m.Seq, logging.KeySubject, m.Subject, "delivery", m.Deliveries)
	// The last delivery cannot be handed back (the server would give up on
	// it): it gets its attempt even while the breaker is open.
	if until, open := w.breaker.openUntil(); open && m.Deliveries < uint64(w.cfg.MaxDeliver) {
		w.handBackPaused(m, until, "breaker open on arrival")
		return
	}
	if w.handBackHeld(m) {
		return
	}
	// The handler's context ends at 90% of AckWait, so its result is
	// settled before the server redelivers.
	deadline := received.Add(w.cfg.AckWait * 9 / 10)
	err = w.run(m, received, deadline)
	endSpan(span, err)
	if errors.Is(err, errShutdown) {
		w.metrics.outcome(w.cfg.Name, "left_for_redelivery")
		log.Info("stopped before the handler finished; left for redelivery")
		return
	}
	w.settle(m, err, log)
}

// startSpan continues the trace m carries (a new one when it carries
// none) with the delivery's span, which the handler's context holds.
func (w *Worker) startSpan(m *Message) trace.Span {
	if w.tracer == nil {
		// Tracing off: not even the traceparent is parsed.
		return noSpan
	}
	ctx := tracing.Extract(context.Background(), m.Header)
	_, span := w.tracer.Start(ctx, "handle "+w.cfg.Name, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(tracing.KeyWorker.String(w.cfg.Name), tracing.KeySubject.String(m.Subject),
			tracing.KeyStream.String(m.Stream), tracing.KeySeq.Int64(int64(m.Seq)),
			tracing.KeyDelivery.Int64(int64(m.Deliveries)), tracing.KeyMessageID.String(m.MsgID))
	}
	m.span = span
	return span
}

// noSpan is the delivery span with tracing off, boxed once: a noop.Span
// turned into an interface per delivery would allocate.
var noSpan trace.Span = noop.Span{}

// endSpan records how the handler ended: the failure kind, never the
// error's text, which may quote what the API said about a person.
func endSpan(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	kind := failure.KindOf(err).String()
	if errors.Is(err, errShutdown) {
		kind = "shutdown"
	}
	span.SetAttributes(tracing.KeyFailure.String(kind))
	span.SetStatus(codes.Error, kind)
}

// errShutdown marks a handler cut short by Stop: the message is left for
// redelivery, not counted.
var errShutdown = errors.New("worker stopping")

// run calls the handler, retrying Transient failures in process within the
// retry window. It returns the last error, or nil.
func (w *Worker) run(m *Message, received, deadline time.Time) error {
	window := received.Add(w.cfg.InProcessRetryWindow)
	if window.After(deadline) {
		window = deadline
	}
	bo := retry.Backoff(max(w.cfg.InProcessRetryWindow/16, time.Millisecond), w.cfg.InProcessRetryWindow/2, 2)
	for attempt := 0; ; attempt++ {
		err := w.call(m, deadline)
		if err == nil || failure.KindOf(err) != failure.Transient {
			return err
		}
		if _, snoozed := failure.SnoozeOf(err); snoozed {
			return err
		}
		if w.handlerCtx.Err() != nil {
			return errShutdown
		}
		if attempt >= w.cfg.InProcessRetries {
			return err
		}
		if _, open := w.breaker.openUntil(); open {
			return err
		}
		next := bo.NextBackOff()
		if time.Now().Add(next).After(window) {
			return err
		}
		if !retry.SleepUntil(w.stopping, next) {
			return err
		}
		w.metrics.outcome(w.cfg.Name, "retried_in_process")
	}
}

// call runs the handler once with a deadline, turning a panic into a
// Transient failure of this message.
func (w *Worker) call(m *Message, deadline time.Time) (err error) {
	ctx, cancel := context.WithDeadline(w.handlerCtx, deadline)
	defer cancel()
	// The message's calls take their tokens in its lane; the work id counts
	// it once among the lane's waiting messages however often it is refused.
	ctx = budget.WithLane(budget.WithWork(ctx, m.Stream+":"+strconv.FormatUint(m.Seq, 10)), m.Lane())
	if m.span != nil {
		ctx = trace.ContextWithSpan(ctx, m.span)
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("handler panicked", logging.KeySeq, m.Seq, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = failure.TransientError(fmt.Errorf("handler panicked: %v", r))
		}
		w.metrics.latency(w.cfg.Name, time.Since(start))
	}()
	return w.cfg.Handler(ctx, m)
}

// settle is the one place that maps a result to what happens to the
// message.
func (w *Worker) settle(m *Message, err error, log *slog.Logger) {
	if err == nil {
		w.breaker.success()
		w.ack(m, log)
		return
	}
	kind := failure.KindOf(err)
	last := m.Deliveries >= uint64(w.cfg.MaxDeliver)
	if wait, snoozed := failure.SnoozeOf(err); snoozed {
		// Not yet, rather than failed: no failure is counted and the
		// breaker hears nothing, since the API answered.
		if last {
			w.exhausted(m, err, log)
			return
		}
		if wait <= 0 {
			wait = w.cfg.RetryMin
		}
		w.nak(m, wait+jitter(wait/5), "snoozed", log)
		log.Info("not yet; handed back", logging.KeyError, err, "wait", wait)
		return
	}
	switch kind {
	case failure.Permanent:
		hist := w.failures.history(m)
		hist = append(hist, record(m, kind.String(), err))
		w.deadLetter(m, kind.String(), err.Error(), hist, log)
		return
	case failure.Throttled:
		if last {
			w.exhausted(m, err, log)
			return
		}
		wait, ok := failure.WaitOf(err)
		if !ok {
			wait = w.cfg.RetryMin
		}
		if w.holdLane(m, err, wait) {
			log.Info("lane turned away; the consumer holds", "wait", wait)
			return
		}
		readsOnly := errors.Is(err, failure.ErrReadsOnly) && m.Deliveries < uint64(w.cfg.MaxDeliver/2)
		if !readsOnly && !w.laneYield(m, err, wait) {
			// Only reads refused: this message goes back alone and the
			// worker keeps fetching, since the next one may need only a
			// write. Its lane turned away: the lane waits, not the worker
			// (see laneHolds). Each such hand-back is a delivery, so once a
			// message has spent half of them the worker holds as for any
			// throttle and no message is exhausted by waiting.
			w.hold.extend(time.Now().Add(wait))
		}
		w.nak(m, wait+throttleSpread(wait), "throttled", log)
		log.Info("throttled; handed back", "wait", wait)
		return
	case failure.Systemic:
		until := w.breaker.trip(err)
		if last {
			w.exhausted(m, err, log)
			return
		}
		w.handBackPaused(m, until, "systemic failure: "+err.Error())
		return
	}
	// Transient.
	if until, open := w.breaker.openUntil(); open && !last {
		// The breaker opened while this one was in the handler: not its fault.
		w.handBackPaused(m, until, "breaker opened while in the handler")
		return
	}
	hist, rerr := w.failures.add(m, record(m, kind.String(), err))
	if rerr != nil {
		log.Warn("could not record the failure; counting it locally only", logging.KeyError, rerr)
	}
	if len(hist) >= w.cfg.MaxFailures || last {
		w.exhausted(m, err, log, hist...)
		w.breaker.transient(err)
		return
	}
	delay := retryDelay(w.cfg.RetryMin, w.cfg.RetryMax, len(hist))
	if until, open := w.breaker.transient(err); open {
		delay = max(delay, w.pausedDelay(until))
	}
	w.nak(m, delay, "retried", log)
	log.Info("failed; retrying later", logging.KeyError, err, "failures", len(hist), "delay", delay)
}

// exhausted dead-letters m as exhausted with its history.
func (w *Worker) exhausted(m *Message, err error, log *slog.Logger, hist ...deadletter.ErrorRecord) {
	if hist == nil {
		hist = append(w.failures.history(m), record(m, failure.KindOf(err).String(), err))
	}
	why := fmt.Sprintf("gave up after %d failures in %d deliveries: %s", len(hist), m.Deliveries, err)
	w.deadLetter(m, deadletter.KindExhausted, why, hist, log)
}

// deadLetter publishes the dead letter, waits for its ack, and only then
// terminates the original. If the publish fails (a full DLQ refuses new
// letters) the message is handed back for later, never dropped.
func (w *Worker) deadLetter(m *Message, kind, why string, hist []deadletter.ErrorRecord, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	_, err := deadletter.Write(ctx, w.js, w.cfg.Topology, deadletter.Failed{
		Subject: m.Subject, Data: m.Data, Header: tracedHeader(m), Stream: m.Stream, Seq: m.Seq,
		Deliveries: m.Deliveries, Kind: kind, Error: why, History: hist, Worker: w.cfg.Name,
	})
	if err != nil {
		log.Error("could not dead-letter; handing the message back", logging.KeyError, errors.Join(errors.New(why), err))
		w.nak(m, w.cfg.RetryMax, "dead_letter_failed", log)
		return
	}
	if w.cfg.afterDeadLetter != nil {
		w.cfg.afterDeadLetter(m)
	}
	reason := kind + ": " + why
	if len(reason) > 256 {
		reason = reason[:253] + "..."
	}
	if err := m.msg.TermWithReason(reason); err != nil {
		log.Warn("dead-lettered but the term failed; the redelivery's copy will be dropped as a duplicate", logging.KeyError, err)
	}
	w.failures.forget(m)
	w.metrics.deadLettered(w.cfg.Name, kind)
	spanOutcome(m, "dead_lettered")
	log.Warn("dead-lettered", logging.KeyKind, kind, logging.KeyError, why)
}

// tracedHeader is m's header with traceparent naming the delivery's span,
// so a dead letter's trace leads to the delivery that gave up; m's own
// header is left as it was.
func tracedHeader(m *Message) nats.Header {
	if m.span == nil || !m.span.SpanContext().IsValid() {
		return m.Header
	}
	h := make(nats.Header, len(m.Header)+2)
	for k, v := range m.Header {
		h[k] = v
	}
	tracing.Inject(trace.ContextWithSpan(context.Background(), m.span), h)
	return h
}

func (w *Worker) ack(m *Message, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := m.msg.DoubleAck(ctx); err != nil {
		// The work is done; a lost ack means one redelivery, which the API
		// idempotency key absorbs.
		log.Warn("ack not confirmed", logging.KeyError, err)
	}
	if m.Deliveries > 1 {
		w.failures.forget(m)
	}
	w.metrics.outcome(w.cfg.Name, "acked")
	spanOutcome(m, "acked")
}

func (w *Worker) nak(m *Message, delay time.Duration, outcome string, log *slog.Logger) {
	if err := m.msg.NakWithDelay(delay); err != nil {
		log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, outcome)
	spanOutcome(m, outcome)
}

// handBackPaused returns m past the pause, without counting a failure.
func (w *Worker) handBackPaused(m *Message, until time.Time, why string) {
	if err := m.msg.NakWithDelay(w.pausedDelay(until)); err != nil {
		w.log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, "paused")
	spanOutcome(m, "paused")
	w.log.Debug("handed back past the pause", logging.KeySeq, m.Seq, "until", until, "why", why)
}

// pausedDelay is how long a message handed back because of the breaker
// stays away: until the pause ends, but no longer than ProbeEvery, so
// that a probe that closes a long pause early finds it back soon; plus a
// jitter of up to a quarter of that, so replicas do not all return at
// once. The paused consumer holds it meanwhile: the server redelivers
// nothing before the pause ends or a resume.
func (w *Worker) pausedDelay(until time.Time) time.Duration {
	d := min(time.Until(until), w.cfg.ProbeEvery)
	return d + jitter(max(min(w.cfg.PauseMin, w.cfg.ProbeEvery)/4, time.Millisecond))
}

// spanOutcome tags the delivery's span with what settle did, the label
// omq_worker_messages_total counts it under.
func spanOutcome(m *Message, outcome string) {
	if m.span != nil && m.span.IsRecording() {
		m.span.SetAttributes(tracing.KeyOutcome.String(outcome))
	}
}

// retryDelay is min doubling per failure (1-based) up to max, ±20% jitter.
func retryDelay(minD, maxD time.Duration, failures int) time.Duration {
	d := minD
	for i := 1; i < failures && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d - d/5 + jitter(2*d/5)
}

// throttleSpreadMax bounds how far past a throttle's wait a handed-back
// message may return. The hold, not the spread, keeps this worker from
// fetching early, and the shared budget serialises the replicas' takes at
// the reset; a spread proportional to the wait (a fifth of it) brought the
// last refused messages back up to 12 s after a 60 s window reset and up to
// 12 minutes after an hour's, while the window's tokens went unused.
const throttleSpreadMax = time.Second

// throttleSpread is the jitter added to a throttle's wait: a fifth of it,
// at most throttleSpreadMax.
func throttleSpread(wait time.Duration) time.Duration {
	return jitter(min(wait/5, throttleSpreadMax))
}

// jitter is a uniform random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

func record(m *Message, kind string, err error) deadletter.ErrorRecord {
	return deadletter.ErrorRecord{At: time.Now().UTC().Format(time.RFC3339Nano), Kind: kind, Error: err.Error(), Delivery: m.Deliveries}
}
