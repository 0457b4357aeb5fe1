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
	// Group is the worker's Config.BreakerGroup: the breakers of one group
	// open and close together.
	Group string `json:"group,omitempty"`
	// From is the key of the group's breaker whose trip this pause follows;
	// "" when this worker's own failures opened it.
	From string `json:"from,omitempty"`
}

// breaker pauses the consumer for every replica while the API is down. The
// instance that opens it probes the API (Config.Probe) every ProbeEvery and
// shortly before the pause ends: success resumes the consumer, a failure at
// the end pauses it again for twice as long, up to PauseMax. If that
// instance dies, the pause runs out by itself and the next failures open
// the breaker again.
//
// Workers of one BreakerGroup follow each other: when one opens its breaker
// the others write the same pause under their own keys (join) and pause
// their own consumers, so a second worker does not have to find the outage
// by failing; the opener's good probe closes every breaker of the group, and
// each worker resumes its consumer when it sees its own closed.
type breaker struct {
	w     *Worker
	kv    jetstream.KeyValue
	key   string
	group string
	id    string

	mu      sync.Mutex
	st      breakerState
	inARow  int
	changeC chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBreaker(w *Worker, kv jetstream.KeyValue) *breaker {
	b := &breaker{w: w, kv: kv, key: w.cfg.Name, group: w.cfg.BreakerGroup, id: nuid.Next(), changeC: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// start loads the shared state and follows its changes: its own key, and
// in a group every key, whose current values come first so a worker
// starting during a group's pause joins it.
func (b *breaker) start(ctx context.Context) error {
	if st, _, err := b.read(ctx); err == nil {
		b.set(st)
	}
	var wt jetstream.KeyWatcher
	var err error
	if b.group == "" {
		wt, err = b.kv.Watch(b.ctx, b.key, jetstream.UpdatesOnly())
	} else {
		wt, err = b.kv.WatchAll(b.ctx)
	}
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
			b.observe(e)
		}
	}()
	return nil
}

// observe acts on one change in the bucket: its own key is followed, a
// group member's fresh trip is joined.
func (b *breaker) observe(e jetstream.KeyValueEntry) {
	var st breakerState
	if e == nil || e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &st) != nil {
		return
	}
	switch {
	case e.Key() == b.key:
		b.follow(st)
	case b.group != "" && st.Group == b.group && st.From == "" && st.Open && st.Until.After(time.Now()):
		b.join(e.Key(), st)
	}
}

// follow takes the state of its own key; when a pause this instance knew of
// is closed early (a group member's probe, omq breaker resume), it resumes
// its consumer, which the closer may not know.
//
// The consumer is resumed before this replica fetches again: a pull
// request that reaches a consumer still paused is parked, and a resume
// does not wake the server's delivery loop (nats-server's
// updatePauseState signals only at a pause's deadline), so redeliveries
// due would wait for the next pull request.
func (b *breaker) follow(st breakerState) {
	if !st.Open && b.ctx.Err() == nil {
		if _, open := b.openUntil(); open {
			b.resume()
		}
	}
	b.set(st)
}

// resume resumes this worker's consumer on the server.
func (b *breaker) resume() {
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	if _, err := b.w.js.ResumeConsumer(ctx, b.w.cfg.Stream, b.w.cfg.Name); err != nil {
		b.w.log.Warn("could not resume the consumer; its pause runs out by itself", logging.KeyError, err)
	}
}

// join pauses this worker with a group member whose failures opened its
// breaker: the same pause under this worker's key (one replica writes it,
// compare-and-set; the others follow it) and on its consumer.
func (b *breaker) join(from string, o breakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.Open && !b.st.Until.Before(o.Until) {
		return // paused that long already
	}
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	ns := breakerState{Open: true, Until: o.Until, Pause: o.Pause, Reason: o.Reason, By: o.By, Group: b.group, From: from}
	pause := false // this replica wrote the pause (or could not read it)
	for range 10 {
		st, rev, err := b.read(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			pause = true
			break
		}
		if st.Open && !st.Until.Before(o.Until) {
			b.setLocked(st) // another replica joined first
			return
		}
		if b.write(ctx, ns, rev) == nil {
			pause = true
			break
		}
	}
	b.setLocked(ns)
	if pause {
		b.pause(ctx, ns.Until)
	}
	b.w.metrics.outcome(b.w.cfg.Name, "breaker_opened")
	b.w.log.Warn("breaker open: "+from+" found the API down; consumption paused with it", "until", ns.Until, "reason", o.Reason)
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
	return breakerState{Open: true, Until: now.Add(p), Pause: p, Reason: cause.Error(), By: b.id, Group: b.group}
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

// probe runs in its own goroutine for the instance that opened the breaker:
// every ProbeEvery while the pause lasts, and once shortly before it ends.
// Only that last one extends the pause when it fails, so an API back in the
// middle of a long pause is noticed within ProbeEvery.
func (b *breaker) probe(st breakerState) {
	defer b.wg.Done()
	last := time.Now()
	for {
		lead := probeLead(st.Pause)
		end := st.Until.Add(-lead)
		at := last.Add(b.w.cfg.ProbeEvery)
		final := !at.Before(end)
		if final {
			at = end
		}
		if !retry.Sleep(b.ctx, time.Until(at)) {
			return
		}
		if b.w.cfg.Probe == nil {
			if !final {
				last = at
				continue
			}
			return // the pause runs out; the next message tests the API
		}
		b.mu.Lock()
		cur := b.st
		b.mu.Unlock()
		if cur.By != b.id || !cur.Until.Equal(st.Until) {
			return // closed, or someone else's pause now
		}
		// Hold the consumers for as long as the probe may take, so that only
		// the probe, never a message, meets the API while it may be down.
		probeTimeout := max(lead, min(st.Pause, 10*time.Second))
		if time.Until(st.Until) < probeTimeout+lead {
			st = b.hold(st, time.Now().Add(probeTimeout+lead))
		}
		pctx, cancel := context.WithTimeout(b.ctx, probeTimeout)
		err := b.w.cfg.Probe(pctx)
		cancel()
		last = time.Now()
		if b.ctx.Err() != nil {
			return
		}
		if err == nil {
			b.close()
			return
		}
		if final {
			st = b.extend(st, err)
			continue
		}
		b.w.log.Debug("probe failed; probing again", "in", b.w.cfg.ProbeEvery, logging.KeyError, err)
	}
}

// hold moves the pause's end to until (the same pause length, so the
// doubling is unchanged) for every replica and group member.
func (b *breaker) hold(st breakerState, until time.Time) breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	st.Until = until
	if _, rev, err := b.read(ctx); err == nil {
		_ = b.write(ctx, st, rev)
	}
	b.setLocked(st)
	b.pause(ctx, until)
	return st
}

// probeLead is how long before a pause ends its probe runs.
func probeLead(pause time.Duration) time.Duration { return min(pause/5, time.Second) }

// close records the API's recovery, for the whole group, and resumes the
// consumer; the group's other workers resume theirs as they see their
// breakers closed.
func (b *breaker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Resumed before anyone fetches again (see follow).
	b.resume()
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	if err := clearBreaker(ctx, b.kv, b.key); err != nil && !errors.Is(err, errBreakerClosed) {
		b.w.log.Warn("could not record the breaker closed; the pause runs out by itself", logging.KeyError, err)
	}
	b.setLocked(breakerState{Pause: b.st.Pause, Group: b.group})
	b.w.log.Info("breaker closed: the probe succeeded, consumption resumed")
}

// extend pauses again for twice as long after a failed probe.
func (b *breaker) extend(st breakerState, cause error) breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, settleTimeout)
	defer cancel()
	p, what := probePause(st.Pause, b.w.cfg.PauseMax, cause)
	ns := breakerState{Open: true, Until: time.Now().Add(p), Pause: p, Reason: "probe: " + cause.Error(), By: b.id, Group: b.group}
	if _, rev, err := b.read(ctx); err == nil {
		_ = b.write(ctx, ns, rev)
	}
	b.setLocked(ns)
	b.pause(ctx, ns.Until)
	b.w.log.Warn(what, "until", ns.Until, "pause", p, logging.KeyError, cause)
	return ns
}
