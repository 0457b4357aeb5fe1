package workers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// A message on its last delivery that is still in the pull-ahead buffer when
// the worker stops fetching must get its attempt, as handle gives it one
// while the breaker is open: a hand-back at delivery MaxDeliver makes the
// server give up on it, and the mover would dead-letter as exhausted a
// message that never failed.
func TestLastDeliveryInTheBufferIsNotHandedBack(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	const name = "lastbuf"
	release, releaseA0 := make(chan struct{}), make(chan struct{})
	started := make(chan string, 4)
	var lastSeen atomic.Uint64 // B's delivery count when its handler ran
	cfg := b.fastConfig(name, func(ctx context.Context, m *Message) error {
		switch string(m.Data) {
		case "1": // B
			lastSeen.Store(m.Deliveries)
			return nil
		case "0":
			started <- "A0"
			<-releaseA0
		default:
			started <- string(m.Data)
			<-release
		}
		return nil
	})
	cfg.Concurrency, cfg.MaxDeliver, cfg.MaxFailures, cfg.AckWait = 2, 3, 2, 30*time.Second

	// B (seq 1) spends two deliveries on the same durable before the worker
	// starts; the second is handed back for a while, so that B is redelivered
	// into the buffer while both slots are busy.
	cons, err := b.js.CreateOrUpdateConsumer(t.Context(), b.top.EventsStream(), jetstream.ConsumerConfig{
		Durable: name, FilterSubject: cfg.Subjects[0], AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver,
	})
	require.NoError(t, err)
	b.publishOne(t, name, 1)
	for i, delay := range []time.Duration{time.Millisecond, time.Second} {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		msg := <-batch.Messages()
		require.NotNil(t, msg, "delivery %d", i+1)
		require.NoError(t, msg.NakWithDelay(delay))
	}
	for _, i := range []int{0, 2, 3} {
		b.publishOne(t, name, i)
	}

	w, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	<-started
	<-started
	close(releaseA0) // its slot takes the third, and the pull stays open for B
	<-started
	eventually(t, 5*time.Second, func() bool {
		info, err := cons.Info(t.Context())
		require.NoError(t, err)
		return info.Delivered.Consumer == 6 // B twice, A0, 2, 3, then B again
	}, "B delivered into the buffer (its third and last delivery)")

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- w.Stop(ctx)
	}()
	<-w.loopDone // fetching has stopped and the buffer has been dealt with
	close(release)
	require.NoError(t, <-stopped)

	require.Equal(t, uint64(3), lastSeen.Load(), "B's last delivery ran its handler")
	require.Zero(t, b.streamMsgs(t, b.top.EventsStream()), "everything acked, B included")
	require.Empty(t, b.deadLetters(t))
}
