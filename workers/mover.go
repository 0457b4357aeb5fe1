package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/lifecycle"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/retry"
	"github.com/openmoove/omq/streams"
)

// MoverName is the mover's one name: its role in omq run --only, its
// component name (logs, Stop's errors) and the Omq-Worker header of the
// dead letters it writes.
const MoverName = "deadletters"

// MoverWorker is the Omq-Worker header of the dead letters the mover writes:
// MoverName. Dead letters written by earlier versions say "advisory-mover".
const MoverWorker = MoverName

// MoverConsumer is the mover's durable consumer on the ADVISORIES stream.
// It keeps its first name: the stream is a work queue, which admits one
// such consumer, so a renamed one could not be created beside the stored
// one, and a rolled-back omq could not start beside a renamed one.
const MoverConsumer = "deadletter-mover"

// MoverReason is the Omq-Error of a message the mover rescues.
const MoverReason = "deliveries exhausted without a recorded failure: the worker crashed, hung or outlived AckWait"

// MoverConfig configures the Mover.
type MoverConfig struct {
	// Topology names the ADVISORIES, DLQ and work streams and the FAILURES
	// bucket. Default streams.New(streams.DefaultPrefix).
	Topology streams.Topology
	// CheckEvery is how often the DLQ's fill is checked for the warning.
	// Default 30s.
	CheckEvery time.Duration
	// WarnAt is the DLQ fill ratio (bytes / MaxBytes) from which a warning
	// is logged at every check. Default 0.8.
	WarnAt float64
	// RetryMin and RetryMax bound the wait before the mover tries an
	// advisory again (the DLQ full, a stream unavailable): RetryMin doubling
	// per try up to RetryMax. Defaults those of a worker, DefaultRetryMin
	// and DefaultRetryMax (5s and 5m).
	RetryMin time.Duration
	RetryMax time.Duration
	// Logger receives the mover's logs. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, receives omq_dlq_bytes, omq_dlq_max_bytes,
	// omq_dlq_fill_ratio and omq_deadletter_moved_total. Default: none.
	Metrics prometheus.Registerer
}

// WithDefaults returns c with every unset field given its default.
func (c MoverConfig) WithDefaults() MoverConfig {
	c.Topology = c.Topology.WithDefaults()
	if c.CheckEvery == 0 {
		c.CheckEvery = 30 * time.Second
	}
	if c.WarnAt == 0 {
		c.WarnAt = 0.8
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Mover is the backstop of the dead-letter path: it consumes the
// MAX_DELIVERIES advisories captured in the ADVISORIES stream, copies each
// message they point at into the DLQ (kind exhausted, the same Nats-Msg-Id a
// worker would use, with any history from the FAILURES bucket), deletes it
// from its stream and acks the advisory. It also watches the DLQ's fill. It
// is a Component.
type Mover struct {
	js  jetstream.JetStream
	cfg MoverConfig
	log *slog.Logger

	cons     jetstream.Consumer
	failures jetstream.KeyValue
	moved    prometheus.Counter
	fill     []prometheus.Collector

	run lifecycle.Loop
}

// NewMover returns a Mover; Start creates its consumer.
func NewMover(js jetstream.JetStream, cfg MoverConfig) (*Mover, error) {
	cfg = cfg.WithDefaults()
	if cfg.CheckEvery < 0 || cfg.WarnAt <= 0 || cfg.WarnAt > 1 {
		return nil, fmt.Errorf("%w: CheckEvery must be positive and WarnAt in (0, 1], got %s and %g", ErrInvalidConfig, cfg.CheckEvery, cfg.WarnAt)
	}
	if cfg.RetryMin <= 0 || cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("%w: RetryMin must be positive and RetryMax at least RetryMin, got %s and %s", ErrInvalidConfig, cfg.RetryMin, cfg.RetryMax)
	}
	return &Mover{js: js, cfg: cfg, log: cfg.Logger.With(logging.KeyComponent, MoverName),
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "omq_deadletter_moved_total", Help: "Messages the dead-letter mover (role deadletters) moved into the DLQ.",
		})}, nil
}

// Name returns MoverName.
func (m *Mover) Name() string { return MoverName }

// Start creates the mover's durable consumer and starts moving.
func (m *Mover) Start(ctx context.Context) error {
	top := m.cfg.Topology
	var err error
	if m.failures, err = m.js.KeyValue(ctx, top.FailuresBucket()); err != nil {
		return fmt.Errorf("workers: %s: open bucket %s (run omq streams apply): %w", MoverName, top.FailuresBucket(), err)
	}
	// An advisory the mover gives up on strands its message: the server
	// will not deliver it again, and nothing else moves it. So the mover
	// retries (a full DLQ can last until an operator makes room) for as long
	// as the stream keeps the advisory, and MaxDeliver, still set, is sized
	// for that at RetryMax.
	keep := 30 * 24 * time.Hour
	if as, err := m.js.Stream(ctx, top.AdvisoriesStream()); err == nil && as.CachedInfo().Config.MaxAge > 0 {
		keep = as.CachedInfo().Config.MaxAge
	}
	maxDeliver := int(min(int64(keep/m.cfg.RetryMax)+64, math.MaxInt32))
	m.cons, err = m.js.CreateOrUpdateConsumer(ctx, top.AdvisoriesStream(), jetstream.ConsumerConfig{
		Durable: MoverConsumer, Description: "moves messages whose deliveries ran out into the DLQ",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxDeliver: maxDeliver,
	})
	if err != nil {
		return fmt.Errorf("workers: %s: consumer on %s: %w", MoverName, top.AdvisoriesStream(), err)
	}
	if err := m.register(); err != nil {
		return err
	}
	m.run.Go(func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { m.loop(ctx) })
		wg.Go(func() { m.watchFill(ctx) })
		wg.Wait()
	})
	return nil
}

// Stop stops the mover, finishing the advisory in hand within ctx; an
// advisory left unacked is delivered again. Its metrics are unregistered
// even when ctx ends first. A second call returns the first call's result.
func (m *Mover) Stop(ctx context.Context) error {
	return m.run.Stop(ctx, "workers: "+MoverName,
		func() string { return "an advisory move or DLQ check still running" }, m.unregister)
}

func (m *Mover) unregister() {
	if m.cfg.Metrics == nil {
		return
	}
	m.cfg.Metrics.Unregister(m.moved)
	for _, c := range m.fill {
		m.cfg.Metrics.Unregister(c)
	}
}

func (m *Mover) loop(ctx context.Context) {
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := m.cons.Fetch(16, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			m.log.Warn("fetch failed; retrying", logging.KeyError, err)
			retry.Sleep(ctx, 250*time.Millisecond)
			continue
		}
		for msg := range messages(ctx, batch) {
			m.move(msg)
		}
		cancel()
	}
}

// advisory is the part of io.nats.jetstream.advisory.v1.max_deliver the
// mover reads.
type advisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// move rescues the message one advisory points at. The copy is published
// (and acknowledged) before the original is deleted.
func (m *Mover) move(msg jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	var adv advisory
	if err := json.Unmarshal(msg.Data(), &adv); err != nil || adv.Stream == "" || adv.StreamSeq == 0 {
		m.log.Error("unreadable advisory; dropped", "subject", msg.Subject())
		_ = msg.TermWithReason("unreadable advisory")
		return
	}
	log := m.log.With(logging.KeyStream, adv.Stream, logging.KeySeq, adv.StreamSeq, "consumer", adv.Consumer)
	st, err := m.js.Stream(ctx, adv.Stream)
	if err != nil {
		m.retry(msg, log, err)
		return
	}
	raw, err := st.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Already settled: acked late, or dead-lettered by its worker.
		_ = msg.Ack()
		return
	}
	if err != nil {
		m.retry(msg, log, err)
		return
	}
	hist, _ := readHistory(m.failures, adv.Stream, adv.StreamSeq)
	why := MoverReason
	if len(hist) > 0 {
		why = fmt.Sprintf("%s (after %d recorded failures, the last: %s)", why, len(hist), hist[len(hist)-1].Error)
	}
	why += "; consumer " + adv.Consumer
	_, err = deadletter.Write(ctx, m.js, m.cfg.Topology, deadletter.Failed{
		Subject: raw.Subject, Data: raw.Data, Header: raw.Header, Stream: adv.Stream, Seq: adv.StreamSeq,
		Deliveries: adv.Deliveries, Kind: deadletter.KindExhausted, Error: why, History: hist, Worker: MoverWorker,
	})
	if err != nil {
		m.retry(msg, log, err)
		return
	}
	if err := st.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		// The copy is safe in the DLQ; a second try drops as a duplicate.
		m.retry(msg, log, err)
		return
	}
	forgetHistory(m.failures, adv.Stream, adv.StreamSeq)
	if err := msg.DoubleAck(ctx); err != nil {
		log.Warn("advisory ack not confirmed; a second move is a duplicate", logging.KeyError, err)
	}
	m.moved.Inc()
	log.Warn("moved into the DLQ: deliveries exhausted", "deliveries", adv.Deliveries)
}

func (m *Mover) retry(msg jetstream.Msg, log *slog.Logger, err error) {
	d := m.cfg.RetryMin
	if md, merr := msg.Metadata(); merr == nil {
		for i := uint64(1); i < md.NumDelivered && d < m.cfg.RetryMax; i++ {
			d *= 2
		}
	}
	d = min(d, m.cfg.RetryMax)
	log.Warn("could not move the message yet; retrying", logging.KeyError, err, "in", d)
	_ = msg.NakWithDelay(d)
}

// watchFill warns, at every check, while the DLQ is fuller than WarnAt.
func (m *Mover) watchFill(ctx context.Context) {
	t := time.NewTicker(m.cfg.CheckEvery)
	defer t.Stop()
	for {
		if bytes, maxBytes, ok := m.dlqFill(ctx); ok && maxBytes > 0 {
			if ratio := float64(bytes) / float64(maxBytes); ratio >= m.cfg.WarnAt {
				m.log.Warn("the DLQ is filling up: at its limit new dead letters are refused and stay in their streams; replay or purge them",
					"bytes", bytes, "max_bytes", maxBytes, "fill", fmt.Sprintf("%.0f%%", 100*ratio))
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (m *Mover) dlqFill(ctx context.Context) (bytes, maxBytes int64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := m.js.Stream(ctx, m.cfg.Topology.DLQStream())
	if err != nil {
		return 0, 0, false
	}
	info := st.CachedInfo()
	return int64(info.State.Bytes), info.Config.MaxBytes, true
}

func (m *Mover) register() error {
	reg := m.cfg.Metrics
	if reg == nil {
		return nil
	}
	gauge := func(name, help string, f func(b, mx int64) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			b, mx, ok := m.dlqFill(context.Background())
			if !ok {
				return 0
			}
			return f(b, mx)
		})
	}
	m.fill = []prometheus.Collector{
		gauge("omq_dlq_bytes", "Bytes the DLQ holds.", func(b, _ int64) float64 { return float64(b) }),
		gauge("omq_dlq_max_bytes", "The DLQ's byte limit; at it, new dead letters are refused.", func(_, mx int64) float64 { return float64(mx) }),
		gauge("omq_dlq_fill_ratio", "DLQ bytes over its limit; omq warns from 0.8.", func(b, mx int64) float64 {
			if mx <= 0 {
				return 0
			}
			return float64(b) / float64(mx)
		}),
	}
	for _, c := range append([]prometheus.Collector{m.moved}, m.fill...) {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("workers: %s: metrics: %w", MoverName, err)
		}
	}
	return nil
}
