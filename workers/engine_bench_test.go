package workers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

// BenchmarkEngine measures the runtime's fetch-and-settle loop alone: b.N
// events through a trivial handler (no API) at concurrency 8, each settled
// with DoubleAck, against the smallest correct nats.go loop doing the same
// (one Consume, PullMaxMessages(2×concurrency), 8 goroutines, DoubleAck).
// Both connect over loopback TCP to an embedded server, as omq does. The
// figure is events/s from start to the stream being empty (the events
// stream is a work queue, so empty means every event was acked), over
// max(b.N, 2000) events so that `make bench`'s -benchtime 1x means something.
//
//	GOMAXPROCS=2 go test ./workers -run '^$' -bench Engine -benchtime 5000x -count 5
func BenchmarkEngine(b *testing.B) {
	for _, delay := range []time.Duration{0, time.Millisecond} {
		for _, eng := range []struct {
			name  string
			start func(b *testing.B, js jetstream.JetStream, top streams.Topology, conc int, h Handler) func()
		}{
			{"runtime", benchRuntime},
			{"raw", benchRaw},
		} {
			b.Run(fmt.Sprintf("handler=%s/%s", delay, eng.name), func(b *testing.B) {
				h := func(ctx context.Context, _ *Message) error {
					if delay > 0 {
						time.Sleep(delay)
					}
					return nil
				}
				benchEngine(b, 8, h, eng.start)
			})
		}
	}
}

func benchEngine(b *testing.B, conc int, h Handler, start func(*testing.B, jetstream.JetStream, streams.Topology, int, Handler) func()) {
	s := natstest.Start(b, natstest.Listen())
	top := streams.New("openmoove")
	if _, err := streams.Apply(b.Context(), s.JS, top, nil); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 2000)
	for i := range n {
		if _, err := s.JS.PublishAsync(top.EventSubject(fmt.Sprintf("bench.e%d", i)), []byte("{}")); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-s.JS.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish did not complete")
	}
	nc, err := nats.Connect(s.URL, s.ClientOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	st, err := s.JS.Stream(b.Context(), top.EventsStream())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	began := time.Now()
	stop := start(b, js, top, conc, h)
	for {
		info, err := st.Info(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Since(began) > 2*time.Minute {
			b.Fatalf("%d events left after 2m", info.State.Msgs)
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
}

func benchRuntime(b *testing.B, js jetstream.JetStream, top streams.Topology, conc int, h Handler) func() {
	w, err := New(js, Config{Name: "bench", Stream: top.EventsStream(), Handler: h, Concurrency: conc, Topology: top})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			b.Error(err)
		}
	}
}

func benchRaw(b *testing.B, js jetstream.JetStream, top streams.Topology, conc int, h Handler) func() {
	cons, err := js.CreateOrUpdateConsumer(b.Context(), top.EventsStream(), jetstream.ConsumerConfig{
		Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxDeliver: 20, MaxAckPending: max(1000, 4*conc),
	})
	if err != nil {
		b.Fatal(err)
	}
	work := make(chan jetstream.Msg)
	cc, err := cons.Consume(func(msg jetstream.Msg) { work <- msg }, jetstream.PullMaxMessages(2*conc))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				select {
				case msg := <-work:
					m, err := newMessage(top.EventsStream(), "", msg)
					if err == nil {
						err = h(ctx, m)
					}
					if err != nil {
						_ = msg.Nak()
						continue
					}
					_ = msg.DoubleAck(ctx)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	return func() {
		cc.Stop()
		cancel()
		wg.Wait()
	}
}
