package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
)

// engine consumes the events stream with a milestone handler until stopped.
type engine struct {
	name string
	// consumer is the durable consumer's name, deleted after the run.
	consumer string
	// start starts consuming with conc handlers at once; it returns the
	// handler (for its counts) and a stop function.
	start func(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error)
}

var engines = []engine{
	{name: "omq milestone worker", consumer: milestones.Name, start: startOMQ},
	{name: "raw nats.go pull loop", consumer: "raw", start: startRaw},
	{name: "Watermill (watermill-nats jetstream)", consumer: "watermill", start: startWatermill},
}

// workerConfig is omq's settings with the concurrency set: the defaults
// (AckWait 30s, MaxDeliver 20, in-process retries 3) as `omq run` has them.
func workerConfig(conc int) config.Config {
	cfg := config.Defaults()
	cfg.Concurrency = conc
	return cfg
}

// startOMQ runs the real milestone worker (workers/milestones on the
// workers runtime), as the "milestones" role does.
func startOMQ(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error) {
	nc, js, err := e.conn("omq")
	if err != nil {
		return nil, nil, err
	}
	w, err := milestones.New(ctx, milestones.Options{Worker: workerConfig(conc).Worker(), JS: js, API: api, Topology: e.top})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if err := w.Start(ctx); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return w.Handler, func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(c)
		nc.Close()
	}, nil
}

// handler builds the same milestone handler the worker uses, with the same
// settings.
func handler(ctx context.Context, js jetstream.JetStream, e *natsEnv, api *openmoove.Client) (*milestones.Handler, error) {
	cfg := config.Defaults()
	return milestones.NewHandler(ctx, milestones.Config{API: api, JS: js, Topology: e.top, Mode: cfg.MilestoneMode, Grace: cfg.TransactionGrace})
}

// consumerConfig is the consumer every engine gets: omq's (explicit ack,
// AckWait 30s, MaxDeliver 20, MaxAckPending max(1000, 4×concurrency)).
func consumerConfig(name string, e *natsEnv, conc int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: e.top.EventSubject(">"), AckWait: 30 * time.Second, MaxDeliver: 20,
		MaxAckPending: max(1000, 4*conc),
	}
}

// toMessage turns a delivery into what the handler reads.
func toMessage(msg jetstream.Msg) (*workers.Message, error) {
	md, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	return &workers.Message{Subject: msg.Subject(), Data: msg.Data(), Header: msg.Headers(),
		Stream: md.Stream, Seq: md.Sequence.Stream, Deliveries: md.NumDelivered,
		MsgID: msg.Headers().Get(jetstream.MsgIDHeader), Published: md.Timestamp}, nil
}

// rawPrefetch is the raw loop's Consume buffer: 2× the handlers (the best
// of 1×, 2×, 4× and nats.go's default 500 on this machine).
var rawPrefetch = 2

// startRaw is the limit: the smallest correct nats.go pull consumer. One
// Consume subscription (prefetch rawPrefetch × conc) feeds conc goroutines
// that run the handler and DoubleAck (Nak on error).
func startRaw(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error) {
	nc, js, err := e.conn("raw")
	if err != nil {
		return nil, nil, err
	}
	h, err := handler(ctx, js, e, api)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, e.top.EventsStream(), consumerConfig("raw", e, conc))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	work := make(chan jetstream.Msg)
	cc, err := cons.Consume(func(msg jetstream.Msg) { work <- msg }, jetstream.PullMaxMessages(rawPrefetch*conc))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	hctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				select {
				case msg := <-work:
					m, err := toMessage(msg)
					if err == nil {
						err = h.Handle(hctx, m)
					}
					if err != nil {
						_ = msg.Nak()
						continue
					}
					_ = msg.DoubleAck(hctx)
				case <-hctx.Done():
					return
				}
			}
		})
	}
	return h, func() {
		cc.Stop()
		cancel()
		wg.Wait()
		nc.Close()
	}, nil
}

// wmPrefetch is each Watermill subscription's PullMaxMessages (the best of
// 1, 2, 8 and the default 500 on this machine).
var wmPrefetch = 2

// startWatermill runs watermill-nats' JetStream subscriber (pkg/jetstream,
// pull consumers, v2.1.3): conc subscriptions on one durable consumer (a
// subscription hands out one message at a time and waits for its ack), a
// goroutine per subscription running the handler and acking (Ack →
// DoubleAck, AckAsync false), Nack on error. NopLogger: the default logger
// prints a line per message.
func startWatermill(ctx context.Context, e *natsEnv, api *openmoove.Client, conc int) (*milestones.Handler, func(), error) {
	nc, js, err := e.conn("watermill")
	if err != nil {
		return nil, nil, err
	}
	h, err := handler(ctx, js, e, api)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, e.top.EventsStream(), consumerConfig("watermill", e, conc))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn: nc, Logger: watermill.NopLogger{}, AckWaitTimeout: 30 * time.Second,
		ResourceInitializer: func(context.Context, jetstream.JetStream, string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
			return cons, nil, nil
		},
		ConsumeOptions: []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(wmPrefetch)},
		Unmarshaler:    unmarshaler{},
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range conc {
		ch, err := sub.Subscribe(sctx, e.top.EventsStream())
		if err != nil {
			cancel()
			_ = sub.Close()
			return nil, nil, err
		}
		wg.Go(func() {
			for m := range ch {
				if err := h.Handle(m.Context(), fromWatermill(m)); err != nil {
					m.Nack()
					continue
				}
				m.Ack()
			}
		})
	}
	return h, func() {
		cancel()
		_ = sub.Close() // drains nc
		wg.Wait()
	}, nil
}

// unmarshaler is watermill's DefaultUnmarshaler plus what the handler
// reads that Watermill would drop: the subject, the Msg-Id, the publish
// time and the stream position, carried as metadata.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	m, err := wmjs.DefaultUnmarshaler{}.Unmarshal(msg)
	if err != nil {
		return nil, err
	}
	m.Metadata.Set("subject", msg.Subject())
	m.Metadata.Set("msg_id", msg.Headers().Get(jetstream.MsgIDHeader))
	if md, err := msg.Metadata(); err == nil {
		m.Metadata.Set("published", md.Timestamp.Format(time.RFC3339Nano))
		m.Metadata.Set("seq", strconv.FormatUint(md.Sequence.Stream, 10))
		m.Metadata.Set("stream", md.Stream)
		m.Metadata.Set("delivered", strconv.FormatUint(md.NumDelivered, 10))
	}
	return m, nil
}

func fromWatermill(m *message.Message) *workers.Message {
	hdr := nats.Header{}
	for k, v := range m.Metadata {
		hdr.Set(k, v)
	}
	pub, _ := time.Parse(time.RFC3339Nano, m.Metadata.Get("published"))
	seq, _ := strconv.ParseUint(m.Metadata.Get("seq"), 10, 64)
	del, _ := strconv.ParseUint(m.Metadata.Get("delivered"), 10, 64)
	return &workers.Message{Subject: m.Metadata.Get("subject"), Data: m.Payload, Header: hdr,
		Stream: m.Metadata.Get("stream"), Seq: seq, Deliveries: del, MsgID: m.Metadata.Get("msg_id"), Published: pub}
}

// runEngine seeds txs fresh transactions, publishes their five events
// each, starts eng and times it from start to the last ack. It returns
// events/s and the API calls it made.
func runEngine(ctx context.Context, e *natsEnv, eng engine, txCount, conc int, latencyMS int) (rate float64, calls, evs int, err error) {
	sb, api, err := newSandbox(ctx, sandboxUnlimited(latencyMS))
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = sb.Close(context.Background()); api.CloseIdleConnections() }()
	txs, err := seed(sb, txCount)
	if err != nil {
		return 0, 0, 0, err
	}
	list := backlog(txs, 1)
	if err := publishAll(ctx, e.nc, list, 1024); err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	h, stop, err := eng.start(ctx, e, api, conc)
	if err != nil {
		return 0, 0, 0, err
	}
	err = e.waitDrained(ctx, 5*time.Minute)
	elapsed := time.Since(start)
	stop()
	e.deleteConsumer(ctx, eng.consumer)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", eng.name, err)
	}
	if got := h.Count(milestones.ResultCompleted); got != len(list) {
		return 0, 0, 0, fmt.Errorf("%s: %d milestones completed, want %d", eng.name, got, len(list))
	}
	return float64(len(list)) / elapsed.Seconds(), len(sb.Requests()), len(list), nil
}
