package workers

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/retry"
)

// breakerState is one consumer's breaker in the BREAKER bucket (key: the
// consumer's name), so every replica sees the same one.
type breakerState struct {
	Open bool `json:"open"`
	// Until is when the consumer's pause ends.
	Until time.Time `json:"until"`
	// Pause is the length of the current pause; the next one doubles it.
	Pause  time.Duration `json:"pause"`
	Reason string        `json:"reason,omitempty"`
	// By is the instance that opened it (and probes).
	By string `json:"by,omitempty"`
}

// breaker pauses the consumer for every replica while the API is down. The
// instance that opens it probes the API (Config.Probe) shortly before the
// pause ends: success resumes the consumer, failure pauses it again for
// twice as long, up to PauseMax. If that instance dies, the pause runs out
// by itself and the next failures open the breaker again.
type breaker struct {
	w   *Worker
	kv  jetstream.KeyValue
	key string
	id  string

	mu      sync.Mutex
	st      breakerState
	inARow  int
	changeC chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBreaker(w *Worker, kv jetstream.KeyValue) *breaker {
	b := &breaker{w: w, kv: kv, key: w.cfg.Name, id: nuid.Next(), changeC: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// start loads the shared state and follows its changes.
func (b *breaker) start(ctx context.Context) error {
	if st, _, err := b.read(ctx); err == nil {
		b.set(st)
	}
	wt, err := b.kv.Watch(b.ctx, b.key, jetstream.UpdatesOnly())
	if err != nil {
		b.cancel()
		return err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case e, ok = <-wt.Updates():
			case <-b.ctx.Done():
				return
			}
			if !ok {
				return
			}
			var st breakerState
			if e != nil && e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &st) == nil {
				b.set(st)
			}
		}
	}()
	return nil
}

// stop ends the watcher and the prober. Cancelling the watch's context
// unsubscribes it (in the NATS client); an explicit Stop would wait for the
// server, up to the client's 5s API timeout, when the connection is lost.
func (b *breaker) stop() {
	b.cancel()
	b.wg.Wait()
}

func (b *breaker) set(st breakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setLocked(st)
}

func (b *breaker) setLocked(st breakerState) {
	if st == b.st {
		return
	}
	b.st = st
	close(b.changeC)
	b.changeC = make(chan struct{})
}

// changed is closed at the next change of state.
func (b *breaker) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changeC
}

// openUntil reports whether the breaker is open now, and until when.
func (b *breaker) openUntil() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.Until, b.st.Open && b.st.Until.After(time.Now())
}

// isOpen is openUntil without the time, for metrics.
func (b *breaker) isOpen() bool { _, open := b.openUntil(); return open }

func (b *breaker) success() {
	b.mu.Lock()
	b.inARow = 0
	b.mu.Unlock()
}

// transient counts a Transient failure; the BreakerTransient-th in a row
// opens the breaker.
func (b *breaker) transient(err error) (time.Time, bool) {
	b.mu.Lock()
	b.inARow++
	trip := b.inARow >= b.w.cfg.BreakerTransient
	if trip {
		b.inARow = 0
	}
	b.mu.Unlock()
	if !trip {
		return time.Time{}, false
	}
	return b.trip(err), true
}

// trip opens the breaker (or joins the pause in force) and returns when the
// pause ends.
func (b *breaker) trip(cause error) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.st.Open && b.st.Until.After(now) {
		return b.st.Until
	}
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	var ns breakerState
	for range 10 {
		st, rev, err := b.read(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			b.w.log.Warn("breaker state unreadable; pausing anyway", logging.KeyError, err)
			ns = b.next(b.st, cause, now)
			break
		}
		if st.Open && st.Until.After(now) {
			b.setLocked(st)
			return st.Until
		}
		ns = b.next(st, cause, now)
		if b.write(ctx, ns, rev) == nil {
			break
		}
	}
	b.setLocked(ns)
	b.pause(ctx, ns.Until)
	b.w.metrics.outcome(b.w.cfg.Name, "breaker_opened")
	b.w.log.Warn("breaker open: consumption paused for every replica", "until", ns.Until, "pause", ns.Pause, logging.KeyError, cause)
	if b.ctx.Err() == nil { // not stopping
		b.wg.Add(1)
		go b.probe(ns)
	}
	return ns.Until
}

// next is the state after a trip: PauseMin, or twice the last pause when the
// API failed again right after it.
func (b *breaker) next(prev breakerState, cause error, now time.Time) breakerState {
	p := b.w.cfg.PauseMin
	if prev.Open && now.Sub(prev.Until) < max(prev.Pause, b.w.cfg.PauseMin) {
		p = min(2*prev.Pause, b.w.cfg.PauseMax)
	}
	return breakerState{Open: true, Until: now.Add(p), Pause: p, Reason: cause.Error(), By: b.id}
}

func (b *breaker) read(ctx context.Context) (breakerState, uint64, error) {
	var st breakerState
	e, err := b.kv.Get(ctx, b.key)
	if err != nil {
		return st, 0, err
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return breakerState{}, e.Revision(), nil
	}
	return st, e.Revision(), nil
}

func (b *breaker) write(ctx context.Context, st breakerState, rev uint64) error {
	v, _ := json.Marshal(st)
	var err error
	if rev == 0 {
		_, err = b.kv.Create(ctx, b.key, v)
	} else {
		_, err = b.kv.Update(ctx, b.key, v, rev)
	}
	return err
}

func (b *breaker) pause(ctx context.Context, until time.Time) {
	if _, err := b.w.js.PauseConsumer(ctx, b.w.cfg.Stream, b.w.cfg.Name, until); err != nil {
		b.w.log.Error("could not pause the consumer; this replica holds back alone", logging.KeyError, err)
	}
}

// probe runs in its own goroutine for the instance that opened the breaker.
func (b *breaker) probe(st breakerState) {
	defer b.wg.Done()
	for {
		lead := probeLead(st.Pause)
		if !retry.Sleep(b.ctx, time.Until(st.Until.Add(-lead))) {
			return
		}
		if b.w.cfg.Probe == nil {
			return // the pause runs out; the next message tests the API
		}
		b.mu.Lock()
		cur := b.st
		b.mu.Unlock()
		if cur.By != b.id || !cur.Until.Equal(st.Until) {
			return // someone else's pause now
		}
		// Hold the consumer for as long as the probe may take, so that only
		// the probe, never a message, meets the API while it may be down.
		probeTimeout := max(lead, min(st.Pause, 10*time.Second))
		b.pause(b.ctx, time.Now().Add(probeTimeout+lead))
		pctx, cancel := context.WithTimeout(b.ctx, probeTimeout)
		err := b.w.cfg.Probe(pctx)
		cancel()
		if b.ctx.Err() != nil {
			return
		}
		if err == nil {
			b.close()
			return
		}
		st = b.extend(st, err)
	}
}

// probeLead is how long before a pause ends its probe runs.
func probeLead(pause time.Duration) time.Duration { return min(pause/5, time.Second) }

// close records the API's recovery and resumes the consumer.
func (b *breaker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	ns := breakerState{Pause: b.st.Pause}
	if _, rev, err := b.read(ctx); err == nil {
		_ = b.write(ctx, ns, rev)
	}
	b.setLocked(ns)
	if _, err := b.w.js.ResumeConsumer(ctx, b.w.cfg.Stream, b.w.cfg.Name); err != nil {
		b.w.log.Warn("could not resume the consumer; its pause runs out by itself", logging.KeyError, err)
	}
	b.w.log.Info("breaker closed: the probe succeeded, consumption resumed")
}

// extend pauses again for twice as long after a failed probe.
func (b *breaker) extend(st breakerState, cause error) breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	p, what := probePause(st.Pause, b.w.cfg.PauseMax, cause)
	ns := breakerState{Open: true, Until: time.Now().Add(p), Pause: p, Reason: "probe: " + cause.Error(), By: b.id}
	if _, rev, err := b.read(ctx); err == nil {
		_ = b.write(ctx, ns, rev)
	}
	b.setLocked(ns)
	b.pause(ctx, ns.Until)
	b.w.log.Warn(what, "until", ns.Until, "pause", p, logging.KeyError, cause)
	return ns
}
