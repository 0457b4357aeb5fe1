package workers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names a worker exports (labels in braces):
//
//	omq_worker_messages_total{worker,outcome}   acked, retried, retried_in_process, throttled,
//	                                            paused, dead_lettered, dead_letter_failed,
//	                                            left_for_redelivery, breaker_opened, yielded
//	omq_worker_dead_letters_total{worker,kind}  permanent, exhausted
//	omq_worker_handler_seconds{worker}          handler latency (one call)
//	omq_worker_breaker_open{worker}             1 while the breaker is open
//	omq_consumer_pending{worker}                messages not yet delivered
//	omq_consumer_ack_pending{worker}            delivered, not yet acked (in flight)
//	omq_consumer_redelivered{worker}            delivered more than once, not yet acked
//	omq_consumer_oldest_pending_age_seconds{worker,stream,consumer}
//	                                            age of the oldest message not yet acked
//	                                            (0 when none is): the "stuck" alert's number
//
// The omq_consumer_* figures cost one consumer info request per scrape; the
// oldest pending age adds one stream message read when something is
// pending (none when the consumer is idle), bounded with the rest by a 2s
// timeout.
type metrics struct {
	messages    *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	handler     *prometheus.HistogramVec
	consumer    *consumerCollector
}

func newMetrics(w *Worker) *metrics {
	return &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omq_worker_messages_total", Help: "What the worker did with each delivery, by outcome.",
		}, []string{"worker", "outcome"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omq_worker_dead_letters_total", Help: "Messages the worker dead-lettered, by kind.",
		}, []string{"worker", "kind"}),
		handler: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "omq_worker_handler_seconds", Help: "Duration of one handler call.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"worker"}),
		consumer: &consumerCollector{w: w, labels: prometheus.Labels{"worker": w.cfg.Name}},
	}
}

// register adds the collectors to reg. The vectors are shared by every
// worker of one registry: an existing one is reused.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	share := func(c prometheus.Collector) (prometheus.Collector, error) {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector, nil
		}
		return c, err
	}
	c, err := share(m.messages)
	if err != nil {
		return err
	}
	m.messages = c.(*prometheus.CounterVec)
	if c, err = share(m.deadLetters); err != nil {
		return err
	}
	m.deadLetters = c.(*prometheus.CounterVec)
	// Series at 0 from the start, so an alert on their increase fires on
	// the first dead letter rather than waiting for a second one.
	for _, kind := range []string{"permanent", "exhausted"} {
		m.deadLetters.WithLabelValues(m.consumer.w.cfg.Name, kind)
	}
	if c, err = share(m.handler); err != nil {
		return err
	}
	m.handler = c.(*prometheus.HistogramVec)
	return reg.Register(m.consumer)
}

func (m *metrics) unregister(reg prometheus.Registerer) {
	if reg != nil {
		reg.Unregister(m.consumer)
	}
}

func (m *metrics) outcome(worker, outcome string) {
	m.messages.WithLabelValues(worker, outcome).Inc()
}

func (m *metrics) deadLettered(worker, kind string) {
	m.outcome(worker, "dead_lettered")
	m.deadLetters.WithLabelValues(worker, kind).Inc()
}

func (m *metrics) latency(worker string, d time.Duration) {
	m.handler.WithLabelValues(worker).Observe(d.Seconds())
}

// consumerCollector reads the consumer's state from the server at scrape
// time, so the figures are every replica's, and the breaker's state.
type consumerCollector struct {
	w      *Worker
	labels prometheus.Labels
	// stream is the consumed stream's handle, kept after the first
	// successful lookup: a scrape then costs no stream info request.
	// Scrapes may run at once, hence mu.
	mu     sync.Mutex
	stream jetstream.Stream
}

func (c *consumerCollector) descs() (breaker, pending, ackPending, redelivered, oldest *prometheus.Desc) {
	d := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, vars, c.labels)
	}
	return d("omq_worker_breaker_open", "1 while the worker's breaker is open (consumption paused), else 0."),
		d("omq_consumer_pending", "Messages of the consumer not yet delivered."),
		d("omq_consumer_ack_pending", "Messages delivered and not yet acknowledged (in flight)."),
		d("omq_consumer_redelivered", "Messages delivered more than once and not yet acknowledged."),
		d("omq_consumer_oldest_pending_age_seconds", "Age of the consumer's oldest message not yet acknowledged (pending or in flight), 0 when there is none.", "stream", "consumer")
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	a, b, d, e, f := c.descs()
	for _, desc := range []*prometheus.Desc{a, b, d, e, f} {
		ch <- desc
	}
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	br, pending, ackPending, redelivered, oldest := c.descs()
	open := 0.0
	if c.w.breaker != nil && c.w.breaker.isOpen() {
		open = 1
	}
	ch <- prometheus.MustNewConstMetric(br, prometheus.GaugeValue, open)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := c.w.cons.Info(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(info.NumPending))
	ch <- prometheus.MustNewConstMetric(ackPending, prometheus.GaugeValue, float64(info.NumAckPending))
	ch <- prometheus.MustNewConstMetric(redelivered, prometheus.GaugeValue, float64(info.NumRedelivered))
	if age, ok := c.oldestAge(ctx, info); ok {
		ch <- prometheus.MustNewConstMetric(oldest, prometheus.GaugeValue, age, info.Stream, info.Name)
	}
}

// oldestAge is the age of the first message past the consumer's ack floor
// on its subjects: everything before the floor is acknowledged, so that one
// is the oldest still owed. A message deleted past the floor (a work queue
// drops acked ones out of order) is skipped by reading the next one that
// exists.
func (c *consumerCollector) oldestAge(ctx context.Context, info *jetstream.ConsumerInfo) (float64, bool) {
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return 0, true
	}
	st, err := c.streamHandle(ctx, info.Stream)
	if err != nil {
		return 0, false
	}
	subjects := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		subjects = []string{info.Config.FilterSubject}
	}
	if len(subjects) == 0 {
		subjects = []string{">"}
	}
	var first time.Time
	for _, subj := range subjects {
		m, err := st.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(subj))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// Acknowledged (and removed) since the consumer info was read.
		case err != nil:
			return 0, false // no figure rather than a wrong one
		case first.IsZero() || m.Time.Before(first):
			first = m.Time
		}
	}
	if first.IsZero() {
		return 0, true
	}
	return max(time.Since(first).Seconds(), 0), true
}

func (c *consumerCollector) streamHandle(ctx context.Context, name string) (jetstream.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream == nil {
		st, err := c.w.js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		c.stream = st
	}
	return c.stream, nil
}
