package workers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// An outage many times longer than the longest retry delay costs nothing
// but time: no dead letters, every message processed afterwards, and while
// the breaker holds the consumer only probes reach the API.
func TestOutageIsAbsorbed(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var mu sync.Mutex
	done := map[string]int{}
	cfg := b.fastConfig("outage", func(ctx context.Context, m *Message) error {
		if _, err := b.client.ListProperties(ctx, 1, 1); err != nil {
			return err
		}
		mu.Lock()
		done[m.MsgID]++
		mu.Unlock()
		return nil
	})
	cfg.BreakerTransient = 2
	cfg.Probe = func(ctx context.Context) error { _, err := b.client.Products(ctx); return err }
	w := b.start(t, cfg)

	require.NoError(t, b.sb.SetFaults(sandbox.Faults{Outage: true}))
	outage := 25 * cfg.RetryMax // 2s
	end := time.Now().Add(outage)
	n := 0
	for time.Now().Before(end) { // events keep arriving during the outage
		b.publishOne(t, "outage", n)
		n++
		time.Sleep(outage / 40)
	}
	require.True(t, w.breaker.isOpen(), "the breaker holds the consumer during the outage")
	require.NoError(t, b.sb.SetFaults(sandbox.Faults{}))

	processed := func() int { mu.Lock(); defer mu.Unlock(); return len(done) }
	if !waitFor(30*time.Second, func() bool { return processed() == n }) {
		ci, _ := w.cons.Info(t.Context())
		t.Fatalf("after the outage %d of %d messages processed; dead letters %d; breaker open %v; consumer %+v",
			processed(), n, len(b.deadLetters(t)), w.breaker.isOpen(), ci)
	}
	require.Empty(t, b.deadLetters(t), "an outage dead-letters nothing")
	mu.Lock()
	for id, c := range done {
		require.Equal(t, 1, c, "%s processed once", id)
	}
	mu.Unlock()

	// From the first probe on, every call the outage answered was a probe.
	probes, firstProbe := 0, -1
	for i, r := range b.sb.Requests() {
		if r.Path == "/api/v1/partners/products/" && firstProbe < 0 {
			firstProbe = i
		}
		if firstProbe >= 0 && r.Status == 503 {
			require.Equal(t, "/api/v1/partners/products/", r.Path, "only probes during the pause, got %+v", r)
			probes++
		}
	}
	require.Greater(t, probes, 2, "the breaker probed repeatedly")
	require.Less(t, probes, 20, "probes are spaced by the growing pause")
}

// A systemic failure (a revoked key) opens the breaker at once and pauses
// the consumer on the server, which every replica shares.
func TestSystemicFailurePausesEveryReplica(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var broken atomic.Bool
	broken.Store(true)
	var handled atomic.Int32
	h := func(ctx context.Context, m *Message) error {
		if broken.Load() {
			return failure.SystemicError(errors.New("401 Invalid API key provided"))
		}
		handled.Add(1)
		return nil
	}
	cfg := b.fastConfig("systemic", h)
	cfg.PauseMin, cfg.PauseMax = 300*time.Millisecond, 300*time.Millisecond
	cfg.Probe = func(context.Context) error {
		if broken.Load() {
			return errors.New("still 401")
		}
		return nil
	}
	w1 := b.start(t, cfg)
	w2 := b.start(t, cfg) // a second replica on the same consumer
	b.publish(t, "systemic", 3)
	eventually(t, 5*time.Second, func() bool { return w1.breaker.isOpen() && w2.breaker.isOpen() }, "both replicas see the breaker open")
	info, err := w1.cons.Info(t.Context())
	require.NoError(t, err)
	require.True(t, info.Paused, "the consumer is paused on the server")
	// omq status reads the same shared state.
	bs, err := Breakers(t.Context(), b.js, b.top)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	require.True(t, bs[0].Open && bs[0].Worker == "systemic", "%+v", bs)
	require.Contains(t, bs[0].Reason, "401")
	broken.Store(false)
	eventually(t, 10*time.Second, func() bool { return handled.Load() == 3 }, "resumed after a good probe")
	require.Empty(t, b.deadLetters(t))
	require.False(t, w1.breaker.isOpen())
}

// A pause ends by itself: a process that pauses the consumer and dies does
// not stop consumption for good.
func TestPauseEndsWithoutItsOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var fail atomic.Bool
	fail.Store(true)
	var handled atomic.Int32
	cfg := b.fastConfig("owner", func(ctx context.Context, m *Message) error {
		if fail.Swap(false) {
			return failure.SystemicError(errors.New("API down"))
		}
		handled.Add(1)
		return nil
	})
	cfg.Probe = func(context.Context) error { return errors.New("never reached: the owner is gone") }
	w1, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w1.Start(t.Context()))
	b.publish(t, "owner", 1)
	eventually(t, 5*time.Second, func() bool { return w1.breaker.isOpen() }, "breaker open")
	require.NoError(t, w1.Stop(t.Context())) // the owner goes away without closing it
	w2 := b.start(t, cfg)
	eventually(t, 10*time.Second, func() bool { return handled.Load() == 1 }, "the pause ran out and consumption resumed")
	require.Empty(t, b.deadLetters(t))
	_ = w2
}

// CloseBreaker (omq breaker resume) ends a long pause at once for every
// replica: work queued during the pause is handled within seconds, not at
// the pause's end, and the opener's scheduled probe stands down.
func TestCloseBreakerResumesNow(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var broken atomic.Bool
	broken.Store(true)
	var handled, probes atomic.Int32
	cfg := b.fastConfig("resume", func(ctx context.Context, m *Message) error {
		if broken.Load() {
			return failure.SystemicError(errors.New("401 Invalid API key provided"))
		}
		handled.Add(1)
		return nil
	})
	cfg.PauseMin, cfg.PauseMax = time.Hour, time.Hour
	cfg.Probe = func(context.Context) error { probes.Add(1); return nil }
	w1, w2 := b.start(t, cfg), b.start(t, cfg)
	b.publishOne(t, "resume", 0)
	eventually(t, 5*time.Second, func() bool { return w1.breaker.isOpen() && w2.breaker.isOpen() }, "the breaker opens for both replicas")
	broken.Store(false)
	b.publishOne(t, "resume", 1) // queued behind the pause

	wasOpen, err := CloseBreaker(t.Context(), b.js, b.top, "resume", b.top.EventsStream())
	require.NoError(t, err)
	require.True(t, wasOpen)
	eventually(t, 5*time.Second, func() bool { return handled.Load() >= 1 }, "the queued message is handled at once")
	// Each replica hears of the close through its watch of the bucket; the
	// one that handled the message may hear first.
	eventually(t, 5*time.Second, func() bool { return !w1.breaker.isOpen() && !w2.breaker.isOpen() }, "both replicas see it closed")
	info, err := w1.cons.Info(t.Context())
	require.NoError(t, err)
	require.False(t, info.Paused, "the consumer is resumed on the server")
	bs, err := Breakers(t.Context(), b.js, b.top)
	require.NoError(t, err)
	require.False(t, bs[0].Open)

	wasOpen, err = CloseBreaker(t.Context(), b.js, b.top, "resume", b.top.EventsStream())
	require.NoError(t, err)
	require.False(t, wasOpen, "closing a closed breaker says so")
	require.Zero(t, probes.Load(), "no probe ran: the pause had an hour to go")
}

// Workers calling the same API share one breaker: when the first finds the
// API down, the other stops too without a call of its own, and the one
// good probe after the API's return resumes both at once, long before the
// (hour-long) pause would end.
func TestBreakerGroupSharesOutageAndResumesAtFirstProbe(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var calls, done [2]atomic.Int32
	handler := func(i int) Handler {
		return func(ctx context.Context, m *Message) error {
			calls[i].Add(1)
			if _, err := b.client.ListProperties(ctx, 1, 1); err != nil {
				return err
			}
			done[i].Add(1)
			return nil
		}
	}
	cfg := func(name string, i int) Config {
		c := b.fastConfig(name, handler(i))
		c.BreakerTransient, c.BreakerGroup = 2, "api"
		c.PauseMin, c.PauseMax = time.Hour, time.Hour
		c.ProbeEvery = 200 * time.Millisecond
		c.Probe = func(ctx context.Context) error { _, err := b.client.Products(ctx); return err }
		return c
	}
	a1, a2 := b.start(t, cfg("groupa", 0)), b.start(t, cfg("groupa", 0)) // two replicas
	bw := b.start(t, cfg("groupb", 1))

	require.NoError(t, b.sb.SetFaults(sandbox.Faults{Outage: true}))
	b.publish(t, "groupa", 6)
	eventually(t, 10*time.Second, func() bool { return a1.breaker.isOpen() && a2.breaker.isOpen() && bw.breaker.isOpen() },
		"groupa's failures open the breaker of every replica and of groupb")
	before := calls[0].Load() + calls[1].Load()
	require.Zero(t, calls[1].Load(), "groupb made no call of its own to find the outage")
	// At most what groupa's two replicas had in hand when it tripped: each
	// handler's call and its one in-process retry.
	require.LessOrEqual(t, before, int32(2*4*2), "calls before both stopped")
	bs, err := Breakers(t.Context(), b.js, b.top)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	require.True(t, bs[1].Open && bs[1].Worker == "groupb" && bs[1].OpenedBy == "groupa" && bs[1].Group == "api", "%+v", bs[1])
	b.publish(t, "groupb", 4) // queued behind the pause
	probes := func(status int) int {
		n := 0
		for _, r := range b.sb.Requests() {
			if r.Path == "/api/v1/partners/products/" && r.Status == status {
				n++
			}
		}
		return n
	}
	eventually(t, 10*time.Second, func() bool { return probes(503) >= 2 }, "the opener probes while the pause lasts")
	require.Equal(t, before, calls[0].Load()+calls[1].Load(), "only probes reach the API during the pause")

	require.NoError(t, b.sb.SetFaults(sandbox.Faults{}))
	healed := time.Now()
	if !waitFor(10*time.Second, func() bool { return done[0].Load() == 6 && done[1].Load() == 4 }) {
		bs, _ := Breakers(t.Context(), b.js, b.top)
		ci, _ := a1.cons.Info(t.Context())
		t.Fatalf("both workers resume long before the hour's pause ends: done %d/6, %d/4; good probes %d; breakers %+v; groupa's consumer %+v",
			done[0].Load(), done[1].Load(), probes(200), bs, ci)
	}
	require.Equal(t, 1, probes(200), "the first probe after the heal resumed the group")
	require.False(t, a1.breaker.isOpen() || a2.breaker.isOpen() || bw.breaker.isOpen())
	for _, w := range []*Worker{a1, bw} {
		info, err := w.cons.Info(t.Context())
		require.NoError(t, err)
		require.False(t, info.Paused, "%s's consumer is resumed on the server", w.cfg.Name)
	}
	require.Empty(t, b.deadLetters(t))
	t.Logf("real API calls before both workers stopped: %d (groupb: 0); every message done %s after the heal",
		before, time.Since(healed).Round(time.Millisecond))
}
