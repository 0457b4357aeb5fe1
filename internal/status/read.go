package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Options configure Read.
type Options struct {
	Topology streams.Topology
	// Budget are the limits of the shared API budget (--budget-per-hour,
	// --budget-per-minute).
	Budget budget.Limits
	// StuckAfter is the age of the oldest unfinished message past which a
	// worker is stuck. Default DefaultStuckAfter.
	StuckAfter time.Duration
}

// maxFailureScan bounds how many FAILURES entries one Read looks at: enough
// to tell "failing" from "not", cheap even during a long outage.
const maxFailureScan = 10_000

// Read assembles the model from NATS and assesses it. Only the streams are
// required; a bucket that cannot be read leaves its part empty.
func Read(ctx context.Context, js jetstream.JetStream, o Options) (*Status, error) {
	if o.StuckAfter <= 0 {
		o.StuckAfter = DefaultStuckAfter
	}
	top := o.Topology
	s := &Status{Breakers: []Breaker{}}
	var err error
	if s.Streams, err = readStreams(ctx, js, top); err != nil {
		return nil, err
	}
	s.DeadLetters = deadLetters(s.Streams, top)
	if b, err := budget.New(ctx, js, top, o.Budget); err == nil {
		if snap, err := b.Snapshot(ctx); err == nil {
			s.Budget = budgetOf(snap, b.Limits())
		}
	}
	if bs, err := workers.Breakers(ctx, js, top); err == nil {
		for _, b := range bs {
			s.Breakers = append(s.Breakers, breakerOf(b))
		}
	}
	s.Failing = readFailing(ctx, js, top, time.Now())
	Assess(s, time.Now(), o.StuckAfter)
	return s, nil
}

// ReadStreams reads only the streams and their consumers: what /readyz needs.
func ReadStreams(ctx context.Context, js jetstream.JetStream, top streams.Topology) (*Status, error) {
	ss, err := readStreams(ctx, js, top)
	if err != nil {
		return nil, err
	}
	return &Status{Streams: ss}, nil
}

func readStreams(ctx context.Context, js jetstream.JetStream, top streams.Topology) ([]Stream, error) {
	out := []Stream{}
	work := top.WorkStreams()
	for _, sc := range top.Streams() {
		st, err := readStream(ctx, js, sc.Name, slices.Contains(work, sc.Name))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func readStream(ctx context.Context, js jetstream.JetStream, name string, work bool) (Stream, error) {
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Stream{Name: name, Missing: true, Work: work, Consumers: []Consumer{}}, nil
	}
	if err != nil {
		return Stream{}, fmt.Errorf("stream %s: %w", name, err)
	}
	state := s.CachedInfo().State
	out := Stream{Name: name, Messages: state.Msgs, Bytes: state.Bytes, LastSeq: state.LastSeq, Work: work, Consumers: []Consumer{}}
	infos := s.ListConsumers(ctx)
	for ci := range infos.Info() {
		c := Consumer{Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending,
			Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting}
		if ci.Paused {
			c.PausedUntil = ci.Config.PauseUntil
		}
		if c.waiting() > 0 {
			c.OldestPendingAt = oldestPending(ctx, s, ci)
			if c.OldestPendingAt != nil {
				c.OldestPendingAgeSeconds = time.Since(*c.OldestPendingAt).Round(time.Second).Seconds()
			}
		}
		out.Consumers = append(out.Consumers, c)
	}
	if err := infos.Err(); err != nil {
		return Stream{}, fmt.Errorf("consumers of %s: %w", name, err)
	}
	return out, nil
}

// oldestPending is when the first message past the consumer's ack floor
// that it takes was published: the oldest it has not finished, delivered
// (and perhaps handed back with a delay) or not.
func oldestPending(ctx context.Context, s jetstream.Stream, ci *jetstream.ConsumerInfo) *time.Time {
	filters := ci.Config.FilterSubjects
	if ci.Config.FilterSubject != "" {
		filters = append(filters, ci.Config.FilterSubject)
	}
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var oldest *time.Time
	for _, f := range filters {
		m, err := s.GetMsg(ctx, ci.AckFloor.Stream+1, jetstream.WithGetMsgSubject(f))
		if err != nil {
			continue
		}
		if t := m.Time; oldest == nil || t.Before(*oldest) {
			oldest = &t
		}
	}
	return oldest
}

func deadLetters(ss []Stream, top streams.Topology) DeadLetters {
	d := DeadLetters{MaxBytes: top.DLQMaxBytes}
	for _, s := range ss {
		if s.Name == top.DLQStream() {
			d.Count, d.Bytes = s.Messages, s.Bytes
		}
	}
	if d.MaxBytes > 0 {
		d.Fill = float64(d.Bytes) / float64(d.MaxBytes)
	}
	return d
}

func budgetOf(s budget.Snapshot, l budget.Limits) *Budget {
	b := &Budget{HourUsed: l.PerHour - s.HourLeft, HourLeft: s.HourLeft, PerHour: l.PerHour, HourReset: s.HourReset,
		MinuteUsed: l.PerMinute - s.MinuteLeft, MinuteLeft: s.MinuteLeft, PerMinute: l.PerMinute, MinuteReset: s.MinuteReset}
	if !s.StoppedUntil.IsZero() {
		b.StoppedUntil = &s.StoppedUntil
	}
	for _, l := range s.Lanes {
		b.Lanes = append(b.Lanes, Lane{Lane: string(l.Lane), HourSpent: l.HourSpent, MinuteSpent: l.MinuteSpent,
			Waiting: l.AllWaiting, OldestWaitSeconds: l.AllOldestWait.Seconds()})
	}
	return b
}

func breakerOf(b workers.BreakerStatus) Breaker {
	out := Breaker{Worker: b.Worker, State: "closed", Open: b.Open}
	if b.Open {
		out.State, out.Reason, out.Until, out.NextProbe = "open", b.Reason, b.Until, b.NextProbe
		out.PauseSeconds = b.Pause.Seconds()
	}
	return out
}

// readFailing scans the FAILURES bucket (key <stream>.<seq>, value the
// message's failure history) for entries written within FailingWindow.
func readFailing(ctx context.Context, js jetstream.JetStream, top streams.Topology, now time.Time) Failing {
	f := Failing{WindowSecs: FailingWindow.Seconds()}
	kv, err := js.KeyValue(ctx, top.FailuresBucket())
	if err != nil {
		return f
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return f
	}
	defer w.Stop()
	for n := 0; n < maxFailureScan; n++ {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return f
		}
		if e == nil {
			break // the initial values are all in
		}
		if now.Sub(e.Created()) > FailingWindow {
			continue
		}
		f.Messages++
		if e.Created().After(f.LatestAt) {
			f.LatestAt, f.LatestOf, f.LatestError = e.Created(), streamOf(e.Key()), lastError(e.Value())
		}
	}
	return f
}

func streamOf(key string) string {
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		return key[:i]
	}
	return key
}

// lastError is the latest error of a failure history, cut to a line.
func lastError(v []byte) string {
	var h []deadletter.ErrorRecord
	if json.Unmarshal(v, &h) != nil || len(h) == 0 {
		return "unreadable history"
	}
	msg := h[len(h)-1].Error
	if len(msg) > 200 {
		msg = msg[:197] + "..."
	}
	return msg
}
