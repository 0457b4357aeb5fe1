package workers

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// A handler that always outlives AckWait never fails in the worker's eyes:
// the server's MAX_DELIVERIES advisory is the only trace, and the mover
// rescues the message into the DLQ and removes it from its stream.
func TestMoverRescuesMessagesThatOutliveAckWait(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	cfg := b.fastConfig("hung", func(ctx context.Context, m *Message) error {
		<-release // a hung call that ignores its context
		return nil
	})
	cfg.AckWait, cfg.InProcessRetryWindow, cfg.MaxDeliver, cfg.MaxFailures = 300*time.Millisecond, 50*time.Millisecond, 3, 2
	cfg.Concurrency = cfg.MaxDeliver + 1
	reg := prometheus.NewRegistry()
	mv, err := NewMover(b.js, MoverConfig{Topology: b.top, Metrics: reg})
	require.NoError(t, err)
	require.NoError(t, mv.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, mv.Stop(context.Background())) })
	b.start(t, cfg)
	b.publish(t, "hung", 1)

	eventually(t, 15*time.Second, func() bool { return len(b.deadLetters(t)) == 1 }, "the mover dead-lettered it")
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "and removed it from its stream")
	once.Do(func() { close(release) })
	dl := b.deadLetters(t)[0]
	h := dl.Header
	require.Equal(t, deadletter.KindExhausted, h.Get(deadletter.HeaderErrorKind))
	require.Equal(t, MoverWorker, h.Get(deadletter.HeaderWorker))
	require.Contains(t, h.Get(deadletter.HeaderError), MoverReason)
	require.Equal(t, "3", h.Get(deadletter.HeaderDeliveries))
	require.Equal(t, b.top.EventsStream()+":1", h.Get(nats.MsgIdHdr))
	require.Equal(t, "hung-0", h.Get(deadletter.HeaderOriginalMsgID))
	require.Equal(t, "0", string(dl.Data))
	eventually(t, 5*time.Second, func() bool { return metricValue(t, reg, "omq_deadletter_moved_total") == 1 }, "counted")
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.AdvisoriesStream()) == 0 }, "advisory acked")
}

// shrinkDLQ caps the DLQ at 4 KiB, so that ten letters of 400 bytes fill
// it, and returns it.
func (b *testBundle) shrinkDLQ(t *testing.T) jetstream.Stream {
	t.Helper()
	st, err := b.js.Stream(t.Context(), b.top.DLQStream())
	require.NoError(t, err)
	sc := st.CachedInfo().Config
	sc.MaxBytes = 4096
	_, err = b.js.UpdateStream(t.Context(), sc)
	require.NoError(t, err)
	return st
}

func TestMoverWarnsAsTheDLQFills(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	b.shrinkDLQ(t) // a few letters fill it past 80%
	for i := range 8 {
		_, err := b.js.Publish(t.Context(), b.top.DLQSubject("openmoove.events.x"), bytes.Repeat([]byte{'x'}, 400))
		require.NoError(t, err, "letter %d", i)
	}
	var logs testkit.Buffer
	reg := prometheus.NewRegistry()
	mv, err := NewMover(b.js, MoverConfig{Topology: b.top, Metrics: reg, CheckEvery: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	require.NoError(t, mv.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, mv.Stop(context.Background())) })
	eventually(t, 5*time.Second, func() bool { return bytes.Contains(logs.Bytes(), []byte("the DLQ is filling up")) }, "a warning")
	require.Greater(t, metricValue(t, reg, "omq_dlq_fill_ratio"), 0.8)
}

// metricValue is the value of the first series of a gauge or counter.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// While the DLQ is full (it discards new letters) the mover keeps the
// advisory and retries, for as long as the advisory is kept, not for a
// hundred tries: a message the server gave up on has no other way out of
// its stream. Once an operator makes room, the message is moved.
func TestMoverOutlastsAFullDLQ(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	st := b.shrinkDLQ(t)
	for {
		if _, err := b.js.Publish(t.Context(), b.top.DLQSubject("openmoove.events.x"), bytes.Repeat([]byte{'x'}, 400)); err != nil {
			break // full
		}
	}
	// A message its consumer gave up on, and the server's advisory for it.
	b.publishOne(t, "gaveup", 0)
	adv := fmt.Sprintf(`{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":%q,"consumer":"gaveup","stream_seq":1,"deliveries":20}`, b.top.EventsStream())
	_, err := b.js.Publish(t.Context(), "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+b.top.EventsStream()+".gaveup", []byte(adv))
	require.NoError(t, err)

	mv, err := NewMover(b.js, MoverConfig{Topology: b.top, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, mv.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, mv.Stop(context.Background())) })
	cons, err := b.js.Consumer(t.Context(), b.top.AdvisoriesStream(), MoverConsumer)
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() bool {
		info, err := cons.Info(t.Context())
		require.NoError(t, err)
		return info.Delivered.Consumer > 150
	}, "the mover tried more than 150 times")
	require.Equal(t, uint64(1), b.streamMsgs(t, b.top.EventsStream()), "the message waits in its stream")

	require.NoError(t, st.Purge(t.Context())) // the operator makes room
	eventually(t, 10*time.Second, func() bool { return len(b.deadLetters(t)) == 1 }, "moved once there is room")
	eventually(t, 5*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "and removed from its stream")
	require.Equal(t, b.top.EventsStream()+":1", b.deadLetters(t)[0].Header.Get(nats.MsgIdHdr))
}
