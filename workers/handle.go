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

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/retry"
)

// settleTimeout bounds each JetStream call that settles a message (DLQ
// publish, ack, failure record). It is independent of the handler's context
// so that a message is settled even while the worker stops.
const settleTimeout = 10 * time.Second

// handle runs one delivery through the failure rule. It holds one slot.
func (w *Worker) handle(msg jetstream.Msg, received time.Time) {
	defer w.inflight.Done()
	defer func() { <-w.slots }()
	m, err := newMessage(w.cfg.Stream, msg)
	if err != nil {
		// Not a JetStream delivery: nothing to settle.
		w.log.Error("delivery without metadata; ignored", logging.KeyError, err)
		return
	}
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
	if errors.Is(err, errShutdown) {
		w.metrics.outcome(w.cfg.Name, "left_for_redelivery")
		log.Info("stopped before the handler finished; left for redelivery")
		return
	}
	w.settle(m, err, log)
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
		w.nak(m, wait+jitter(wait/5), "throttled", log)
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
		Subject: m.Subject, Data: m.Data, Header: m.Header, Stream: m.Stream, Seq: m.Seq,
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
	log.Warn("dead-lettered", logging.KeyKind, kind, logging.KeyError, why)
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
}

func (w *Worker) nak(m *Message, delay time.Duration, outcome string, log *slog.Logger) {
	if err := m.msg.NakWithDelay(delay); err != nil {
		log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, outcome)
}

// handBackPaused returns m past the pause, without counting a failure.
func (w *Worker) handBackPaused(m *Message, until time.Time, why string) {
	if err := m.msg.NakWithDelay(w.pausedDelay(until)); err != nil {
		w.log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, "paused")
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

// retryDelay is min doubling per failure (1-based) up to max, ±20% jitter.
func retryDelay(minD, maxD time.Duration, failures int) time.Duration {
	d := minD
	for i := 1; i < failures && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d - d/5 + jitter(2*d/5)
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
