package workers

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// pendingAcks is how many messages the worker's consumer has delivered and
// not yet seen settled.
func (b *testBundle) pendingAcks(t *testing.T, name string) (ackPending int, pending uint64) {
	t.Helper()
	c, err := b.js.Consumer(t.Context(), b.top.EventsStream(), name)
	require.NoError(t, err)
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	return info.NumAckPending, info.NumPending
}

// With every handler stuck, the worker holds at most Concurrency messages
// beyond those in its handlers: the backlog stays on the server.
func TestPrefetchIsBoundedByConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	release := make(chan struct{})
	var started atomic.Int32
	cfg := b.fastConfig("bounded", func(ctx context.Context, m *Message) error {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	cfg.AckWait = 30 * time.Second
	cfg.Concurrency = 4
	b.publish(t, "bounded", 20)
	b.start(t, cfg)
	t.Cleanup(func() { close(release) })
	eventually(t, 5*time.Second, func() bool {
		ap, _ := b.pendingAcks(t, "bounded")
		return started.Load() == 4 && ap > 4
	}, "four in the handlers, some delivered ahead")
	require.False(t, waitFor(300*time.Millisecond, func() bool {
		ap, _ := b.pendingAcks(t, "bounded")
		return ap > 8
	}), "no more than 2×Concurrency delivered while the handlers are stuck")
	_, pending := b.pendingAcks(t, "bounded")
	require.GreaterOrEqual(t, pending, uint64(12), "the rest of the backlog waits on the server")
}

// Stop hands back the messages delivered ahead at once, not after AckWait:
// a new worker gets them within a second or two with one more delivery.
func TestStopHandsBackUnstartedMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	release := make(chan struct{})
	var started atomic.Int32
	cfg := b.fastConfig("handback", func(ctx context.Context, m *Message) error {
		started.Add(1)
		<-release
		return nil
	})
	cfg.AckWait = 30 * time.Second // a stranded message would be gone for 30s
	cfg.Concurrency = 4
	b.publish(t, "handback", 10)
	w, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	eventually(t, 5*time.Second, func() bool {
		ap, _ := b.pendingAcks(t, "handback")
		return started.Load() == 4 && ap > 4
	}, "four in the handlers, some delivered ahead")
	stopped := make(chan error, 1)
	go func() { stopped <- w.Stop(context.Background()) }()
	close(release)
	require.NoError(t, <-stopped)
	require.EqualValues(t, 4, started.Load(), "messages delivered ahead are not started by a stopping worker")

	var mu sync.Mutex
	deliveries := map[uint64]uint64{}
	cfg.Handler = func(ctx context.Context, m *Message) error {
		mu.Lock()
		deliveries[m.Seq] = m.Deliveries
		mu.Unlock()
		return nil
	}
	b.start(t, cfg)
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 },
		"the rest is done long before AckWait (30s)")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, deliveries, 6)
	for seq, d := range deliveries {
		require.LessOrEqual(t, d, uint64(2), "seq %d: at most one delivery spent by the hand-back", seq)
	}
}

// A message that waited in the client for a slot has less time: its
// handler's deadline counts from before it was delivered, so the result is
// settled before the server's AckWait runs out.
func TestHandlerDeadlineCountsTimeWaitingForASlot(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	const ackWait = 2 * time.Second
	release := make(chan struct{})
	deadlines := make(chan time.Time, 1)
	cfg := b.fastConfig("deadline", func(ctx context.Context, m *Message) error {
		if m.Seq == 5 {
			dl, _ := ctx.Deadline()
			deadlines <- dl
			return nil
		}
		<-release
		return nil
	})
	cfg.AckWait = ackWait
	cfg.Concurrency = 4
	b.publish(t, "deadline", 5)
	b.start(t, cfg)
	var delivered time.Time // the fifth message is in the client by then
	eventually(t, 5*time.Second, func() bool {
		ap, _ := b.pendingAcks(t, "deadline")
		delivered = time.Now()
		return ap == 5
	}, "four in the handlers, the fifth delivered ahead")
	time.Sleep(ackWait / 4) // the fifth waits for a slot: the scenario, not a sync
	close(release)
	dl := <-deadlines
	require.False(t, dl.After(delivered.Add(ackWait*9/10)),
		"deadline %s is past delivery (%s) + 90%% of AckWait", dl.Format(time.StampMilli), delivered.Format(time.StampMilli))
}

// A message that arrives after the worker sat idle for longer than AckWait
// gets a full handler deadline, not one that passed while nothing came.
func TestIdleWorkerGivesAFreshDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	const ackWait = time.Second
	left := make(chan time.Duration, 2)
	cfg := b.fastConfig("idle", func(ctx context.Context, m *Message) error {
		dl, _ := ctx.Deadline()
		left <- time.Until(dl)
		return ctx.Err()
	})
	cfg.AckWait = ackWait
	cfg.Concurrency = 2
	b.start(t, cfg)
	b.publishOne(t, "idle", 0)
	require.Greater(t, <-left, ackWait/2, "the first message's deadline")
	time.Sleep(ackWait * 3 / 2) // idle longer than AckWait: the scenario, not a sync
	b.publishOne(t, "idle", 1)
	select {
	case d := <-left:
		require.Greater(t, d, ackWait/2, "after an idle spell the handler still has most of AckWait")
	case <-time.After(5 * time.Second):
		t.Fatal("the message after the idle spell never reached the handler")
	}
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "both acked")
}
