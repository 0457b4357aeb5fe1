package workers

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// A message on its last delivery that is still in the pull-ahead buffer when
// the worker stops fetching must get its attempt, as handle gives it one
// while the breaker is open: a hand-back at delivery MaxDeliver makes the
// server give up on it, and the mover would dead-letter as exhausted a
// message that never failed.
func TestLastDeliveryInTheBufferIsNotHandedBack(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{}, natstest.Listen())
	const name = "lastbuf"
	// The worker's connection reports when B's third delivery (stream
	// sequence 1, delivery 3, in its ack subject) reaches the client's
	// socket. The consumer's Delivered count is no signal: the server counts
	// a delivery before the message leaves its internal queue, and one still
	// in there when Stop unsubscribes is lost to that delivery, so B would
	// not have been in the buffer this test is about.
	arrived := make(chan struct{})
	nc, err := nats.Connect(b.nats.URL, append(b.nats.ClientOptions(),
		nats.SetCustomDialer(&markDialer{mark: []byte("." + name + ".3.1."), seen: arrived}))...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
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

	w, err := New(js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	<-started
	<-started
	close(releaseA0) // its slot takes the third, and the pull stays open for B
	<-started
	select {
	case <-arrived: // B twice, A0, 2, 3, then B again
	case <-time.After(10 * time.Second):
		t.Fatal("B was never delivered into the buffer (its third and last delivery)")
	}

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

// markDialer dials TCP and closes seen the first time mark arrives on the
// connection.
type markDialer struct {
	mark []byte
	seen chan struct{}
	once sync.Once
}

func (d *markDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return &markConn{Conn: c, d: d}, nil
}

type markConn struct {
	net.Conn
	d    *markDialer
	tail []byte // the end of what was read, so a mark split across reads is found
}

func (c *markConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.tail = append(c.tail, p[:n]...)
		if bytes.Contains(c.tail, c.d.mark) {
			c.d.once.Do(func() { close(c.d.seen) })
		}
		if keep := len(c.d.mark); len(c.tail) > keep {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-keep:]...)
		}
	}
	return n, err
}
