package workers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/retry"
)

// consume pulls with one Messages iterator and starts a handler per message,
// each holding a slot. The iterator keeps up to Concurrency messages
// requested ahead (PullMaxMessages), so a freed slot finds its next message
// already delivered instead of waiting for a pull request's round trip (a
// Fetch per free slot cost 40% of the throughput of a trivial handler; see
// BenchmarkEngine). So held messages stay bounded (Concurrency in handlers,
// at most Concurrency waiting in the client) and their AckWait clocks are
// accounted for: received (the handler's deadline is received + 90% of
// AckWait) is when the loop asked for the Concurrency-th previous message,
// before which a message now taken could not have been delivered (the
// iterator's buffer holds at most Concurrency). consume returns when the
// worker must stop fetching (a throttle's hold, the breaker, Stop) or the
// iterator fails; the messages still buffered are then handed back.
func (w *Worker) consume(ctx context.Context) {
	it, err := w.cons.Messages(jetstream.PullMaxMessages(w.cfg.Concurrency), jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		w.fetchFailed(ctx, err)
		return
	}
	halt := make(chan struct{}) // closed by watch when fetching must stop
	done := make(chan struct{}) // closed when consume returns
	watched := make(chan struct{})
	go func() { defer close(watched); w.watch(ctx, it, halt, done) }()
	asked := newAskRing(w.cfg.Concurrency)
	defer func() {
		close(done)
		<-watched
		w.handBackBuffered(it, asked)
	}()
	for {
		select {
		case w.slots <- struct{}{}:
		case <-halt:
			return
		case <-ctx.Done():
			return
		}
		asking := time.Now()
		received := asked.ask(asking)
		msg, err := it.Next(jetstream.NextContext(ctx))
		if got := time.Now(); got.Sub(asking) >= blockedNext {
			// Next blocked on an empty buffer, and a goroutine waiting on it
			// wakes as the message lands: this message, and every later one
			// (the buffer is FIFO), was delivered at about got. The margin
			// covers a slow wake-up. After an idle spell the ring's bound is
			// far older than that and would leave the handler no time.
			asked.emptyAt(got.Add(-min(time.Second, w.cfg.AckWait/10)))
		}
		received = asked.bound(received)
		if err != nil {
			<-w.slots
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if !isClosed(halt) {
					w.fetchFailed(ctx, err) // closed by the server or the connection
				}
				return
			}
			w.fetchFailed(ctx, err) // a missed heartbeat: the iterator pulls again
			continue
		}
		if ctx.Err() != nil || !w.ready() {
			// Delivered as fetching had to stop, before watch noticed.
			<-w.slots
			w.handBack(msg, received)
			return
		}
		w.inflight.Add(1)
		go w.handle(msg, received)
	}
}

// watch drains it (no more pulls; what is buffered stays readable) and
// closes halt when the worker must stop fetching: a hold begins, the
// breaker opens, or ctx ends. It returns early when done is closed.
func (w *Worker) watch(ctx context.Context, it jetstream.MessagesContext, halt, done chan struct{}) {
	for {
		hc, bc := w.hold.changed(), w.breaker.changed()
		if !w.ready() {
			break
		}
		select {
		case <-hc:
		case <-bc:
		case <-ctx.Done():
		case <-done:
			it.Drain()
			return
		}
		if ctx.Err() != nil {
			break
		}
	}
	it.Drain()
	close(halt)
}

// waitReady waits while fetching is held: a throttle's wait, or the breaker
// being open (the consumer is paused anyway). It returns false when ctx ends.
func (w *Worker) waitReady(ctx context.Context) bool {
	for {
		until := w.hold.get()
		if u, open := w.breaker.openUntil(); open && u.After(until) {
			until = u
		}
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(min(d, fetchWait))
		select {
		case <-t.C:
		case <-w.breaker.changed():
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// ready reports whether the worker may fetch now (no hold, breaker closed).
func (w *Worker) ready() bool {
	if time.Now().Before(w.hold.get()) {
		return false
	}
	_, open := w.breaker.openUntil()
	return !open
}

// handBackBuffered hands back what a drained iterator still holds: messages
// delivered but never started (at most Concurrency). asked bounds when each
// was delivered, as in consume. A delivery the server counted but had not
// yet sent when the drain unsubscribed never reaches the buffer: it returns
// after AckWait like any lost delivery, which spends one of MaxDeliver (20
// by default against 5 failures, so the margin absorbs it).
func (w *Worker) handBackBuffered(it jetstream.MessagesContext, asked *askRing) {
	it.Drain()
	for {
		// Bounded: the iterator's channel is not closed when the connection
		// is lost while draining.
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		w.handBack(msg, asked.ask(time.Now()))
	}
}

// handBack returns a message that was delivered but never started, without
// counting a failure: past the hold or the pause if one is in force, else
// (Stop) shortly, for another replica or the next start. A message on its
// last delivery is not handed back (the server would give up on it, and the
// mover dead-letter it as exhausted without its handler ever running): as
// in handle, it gets its attempt, in a handler of its own once a slot is
// free. received bounds when it was delivered, for its deadline.
func (w *Worker) handBack(msg jetstream.Msg, received time.Time) {
	if md, err := msg.Metadata(); err == nil && md.NumDelivered >= uint64(w.cfg.MaxDeliver) {
		w.inflight.Add(1) // before loopDone closes, so Stop waits for it
		go func() {
			w.slots <- struct{}{}
			w.handle(msg, received)
		}()
		return
	}
	outcome, delay := "throttled", time.Until(w.hold.get())
	if u, open := w.breaker.openUntil(); open {
		outcome = "paused"
		delay = max(delay, w.pausedDelay(u))
	}
	if delay <= 0 {
		outcome, delay = "left_for_redelivery", time.Second
	}
	switch {
	case outcome == "throttled" && w.cfg.Lane != "":
		// A one-lane consumer's buffered messages, as holdLane's: back
		// in order, just before the hold ends.
		delay -= laneLead(delay)
	case outcome == "throttled":
		delay += throttleSpread(delay)
	case outcome == "left_for_redelivery":
		delay += jitter(max(w.cfg.PauseMin/4, time.Millisecond))
	}
	if err := msg.NakWithDelay(delay); err != nil {
		w.log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, outcome)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// blockedNext is how long Next must take for the loop to conclude it
// waited on an empty buffer rather than on the scheduler.
const blockedNext = 10 * time.Millisecond

// askRing holds when the loop asked for each of the last n messages, and
// the earliest a message taken now can have been delivered, as learnt from
// the last Next that blocked.
type askRing struct {
	t     []time.Time
	i     int
	empty time.Time
}

// emptyAt records that no message taken from now on was delivered before t.
func (r *askRing) emptyAt(t time.Time) { r.empty = t }

// bound returns the later of a ring bound and the emptyAt bound.
func (r *askRing) bound(b time.Time) time.Time {
	if r.empty.After(b) {
		return r.empty
	}
	return b
}

func newAskRing(n int) *askRing {
	r := &askRing{t: make([]time.Time, n)}
	now := time.Now()
	for i := range r.t {
		r.t[i] = now
	}
	return r
}

// ask records an ask at t and returns the n-th previous one (the ring's
// creation for the first n).
func (r *askRing) ask(t time.Time) time.Time {
	old := r.t[r.i]
	r.t[r.i] = t
	r.i = (r.i + 1) % len(r.t)
	return old
}

// fetchFailed logs a failed pull and waits a moment before the next, so a
// lost connection does not spin.
func (w *Worker) fetchFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.log.Warn("fetch failed; retrying", logging.KeyError, err)
	retry.Sleep(ctx, 250*time.Millisecond)
}

// holdUntil is a time before which the worker does not fetch.
type holdUntil struct {
	mu sync.Mutex
	t  time.Time
	c  chan struct{} // closed at the next extension
}

// changed is closed at the next extension.
func (h *holdUntil) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == nil {
		h.c = make(chan struct{})
	}
	return h.c
}

func (h *holdUntil) get() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.t
}

func (h *holdUntil) extend(t time.Time) {
	h.mu.Lock()
	if t.After(h.t) {
		h.t = t
		if h.c != nil {
			close(h.c)
			h.c = nil
		}
	}
	h.mu.Unlock()
}

// messages yields the batch's messages until it ends or ctx does. A pull
// whose connection is lost does not always see its context end (observed
// with a reconnecting connection), so ctx is watched here too; a message the
// server sends after that is redelivered after AckWait.
func messages(ctx context.Context, batch jetstream.MessageBatch) func(yield func(jetstream.Msg) bool) {
	return func(yield func(jetstream.Msg) bool) {
		ch := batch.Messages()
		for {
			select {
			case msg, ok := <-ch:
				if !ok || !yield(msg) {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}
}
