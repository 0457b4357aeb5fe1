package workers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove/sandbox"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	h := func(context.Context, *Message) error { return nil }
	base := Config{Name: "w", Stream: "S", Handler: h}
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "Name"},
		{"bad name", func(c *Config) { c.Name = "a.b" }, "Name"},
		{"no stream", func(c *Config) { c.Stream = "" }, "Stream"},
		{"no handler", func(c *Config) { c.Handler = nil }, "Handler"},
		{"failures not below deliveries", func(c *Config) { c.MaxDeliver, c.MaxFailures = 5, 5 }, "MaxFailures"},
		{"window outlives ack wait", func(c *Config) { c.AckWait, c.InProcessRetryWindow = time.Second, 2*time.Second }, "InProcessRetryWindow"},
		{"retry max below min", func(c *Config) { c.RetryMin, c.RetryMax = time.Second, time.Millisecond }, "RetryMin"},
		{"pause max below min", func(c *Config) { c.PauseMin, c.PauseMax = time.Second, time.Millisecond }, "PauseMin"},
		{"unknown lane", func(c *Config) { c.Lane = "urgent" }, "Lane"},
	}
	require.NoError(t, base.WithDefaults().Validate())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base
			tt.mod(&c)
			err := c.WithDefaults().Validate()
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestAcksEverySuccess(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var mu sync.Mutex
	seen := map[string]int{}
	b.start(t, b.fastConfig("ok", func(_ context.Context, m *Message) error {
		mu.Lock()
		seen[m.MsgID]++
		mu.Unlock()
		return nil
	}))
	b.publish(t, "ok", 30)
	eventually(t, 10*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "every message acked")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 30)
	for id, n := range seen {
		require.Equal(t, 1, n, "message %s handled once", id)
	}
	require.Empty(t, b.deadLetters(t))
}

func TestPermanentFailureDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var calls atomic.Int32
	b.start(t, b.fastConfig("perm", func(_ context.Context, m *Message) error {
		if m.MsgID == "perm-2" {
			calls.Add(1)
			return failure.PermanentError(errors.New("missing field transaction_id"))
		}
		return nil
	}))
	b.publish(t, "perm", 5)
	eventually(t, 10*time.Second, func() bool { return len(b.deadLetters(t)) == 1 }, "one dead letter")
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "original terminated")
	dl := b.deadLetters(t)[0]
	require.Equal(t, int32(1), calls.Load(), "a permanent failure is not retried")
	require.Equal(t, b.top.DLQSubject(b.top.EventSubject("perm.e2")), dl.Subject)
	require.Equal(t, "2", string(dl.Data))
	h := dl.Header
	require.Equal(t, "permanent", h.Get(deadletter.HeaderErrorKind))
	require.Equal(t, "missing field transaction_id", h.Get(deadletter.HeaderError))
	require.Equal(t, "perm-2", h.Get(deadletter.HeaderOriginalMsgID))
	require.Equal(t, b.top.EventsStream(), h.Get(deadletter.HeaderOriginalStream))
	require.Equal(t, b.top.EventsStream()+":"+h.Get(deadletter.HeaderOriginalSeq), h.Get("Nats-Msg-Id"))
	require.Equal(t, "perm", h.Get(deadletter.HeaderWorker))
	require.Equal(t, "1", h.Get(deadletter.HeaderDeliveries))
	require.NotEmpty(t, h.Get(deadletter.HeaderFailedAt))
	require.Len(t, history(t, dl), 1)
}

func TestPanickingHandlerIsDeadLetteredAfterMaxFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var others atomic.Int32
	cfg := b.fastConfig("poison", func(_ context.Context, m *Message) error {
		if m.MsgID == "poison-0" {
			panic("nil map write in the decoder")
		}
		others.Add(1)
		return nil
	})
	cfg.BreakerTransient = 100 // this test is about the poison, not the breaker
	b.start(t, cfg)
	b.publish(t, "poison", 20)
	eventually(t, 15*time.Second, func() bool { return len(b.deadLetters(t)) == 1 }, "the poison is dead-lettered")
	require.Equal(t, int32(19), others.Load(), "the other messages flowed meanwhile")
	dl := b.deadLetters(t)[0]
	require.Equal(t, deadletter.KindExhausted, dl.Header.Get(deadletter.HeaderErrorKind))
	require.Contains(t, dl.Header.Get(deadletter.HeaderError), "handler panicked: nil map write in the decoder")
	h := history(t, dl)
	require.Len(t, h, cfg.MaxFailures, "one record per real failure")
	for i, r := range h {
		require.Equal(t, "transient", r.Kind)
		require.Equal(t, uint64(i+1), r.Delivery)
	}
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "stream empty")
}

func TestThrottledIsNotCounted(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var calls atomic.Int32
	done := make(chan struct{})
	cfg := b.fastConfig("throttle", func(_ context.Context, m *Message) error {
		if calls.Add(1) <= 6 { // twice MaxFailures
			return failure.ThrottledError(errors.New("budget spent"), 10*time.Millisecond)
		}
		close(done)
		return nil
	})
	b.start(t, cfg)
	b.publish(t, "throttle", 1)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("throttled message never succeeded")
	}
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "acked")
	require.Empty(t, b.deadLetters(t))
}

// A snooze ("not yet") spends none of the message's failures and never
// opens the breaker: more snoozes than MaxFailures and BreakerTransient
// allow still end in success, with no pause.
func TestSnoozeIsNeitherCountedNorABreakerSignal(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	var calls atomic.Int32
	done := make(chan struct{})
	cfg := b.fastConfig("snooze", func(_ context.Context, m *Message) error {
		if calls.Add(1) <= 6 { // twice MaxFailures, three times BreakerTransient
			return failure.SnoozeError(errors.New("transaction not created yet"), 10*time.Millisecond)
		}
		close(done)
		return nil
	})
	cfg.BreakerTransient = 2
	w := b.start(t, cfg)
	b.publish(t, "snooze", 1)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("snoozed message never succeeded")
	}
	require.False(t, w.breaker.isOpen(), "a snooze is not a sign of an API outage")
	require.EqualValues(t, 7, calls.Load(), "one call per delivery: a snooze is not retried in process")
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "acked")
	require.Empty(t, b.deadLetters(t))
}

func TestStopFinishesTheMessageInTheHandler(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	w, err := New(b.js, b.fastConfig("stop", func(ctx context.Context, m *Message) error {
		close(entered)
		<-release
		finished.Store(true)
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	b.publish(t, "stop", 1)
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- w.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned before the handler finished: %v", err)
	case <-time.After(50 * time.Millisecond): // a negative check: Stop must still be waiting
	}
	close(release)
	require.NoError(t, <-stopped)
	require.True(t, finished.Load())
	require.Equal(t, uint64(0), b.streamMsgs(t, b.top.EventsStream()), "acked before Stop returned")
}

func TestStopTimeoutLeavesTheMessageForRedelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	entered := make(chan struct{}, 1)
	cfg := b.fastConfig("stoplate", func(ctx context.Context, m *Message) error {
		if m.Deliveries == 1 {
			entered <- struct{}{}
			<-ctx.Done() // a call that honours its context
			return ctx.Err()
		}
		return nil
	})
	cfg.AckWait = 500 * time.Millisecond
	cfg.InProcessRetryWindow = 100 * time.Millisecond
	w, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	b.publish(t, "stoplate", 1)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = w.Stop(ctx)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "redelivered"), err.Error())
	require.Equal(t, uint64(1), b.streamMsgs(t, b.top.EventsStream()), "not acked, not lost")
	// A new worker on the same consumer completes it.
	b.start(t, cfg)
	eventually(t, 10*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "redelivered and completed")
	require.Empty(t, b.deadLetters(t))
}

// A message refused for a long window comes back within a second of the
// reset, not a fifth of the window later (12 minutes for an hour): the
// window's tokens would go unused while it waits.
func TestThrottleSpreadIsBounded(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, 10 * time.Millisecond, time.Second, time.Minute, time.Hour} {
		for range 1000 {
			d := throttleSpread(wait)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, min(wait/5, throttleSpreadMax), "wait %s", wait)
		}
	}
}
