package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/lifecycle"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

// Defaults of Config, and of the settings that set it (--poll-overdue,
// --poll-due-soon, --poll-interval, --poll-read-share).
const (
	DefaultOverdue   = 5 * time.Minute
	DefaultDueSoon   = 15 * time.Minute
	DefaultInterval  = 30 * time.Minute
	DefaultReadShare = 0.1
)

// Config configures a Poller.
type Config struct {
	// Store is the TRACKING bucket. Default: opened from JS and Topology.
	Store *Store
	// API reads properties and milestones. Required. omq gives it the shared
	// budget's hooks (budget.Budget.Hooks): every call takes a read token,
	// so polling only spends what mutations leave.
	API *openmoove.Client
	// JS publishes outcomes. Required.
	JS jetstream.JetStream
	// Topology names the outcome subjects. Default
	// streams.New(streams.DefaultPrefix).
	Topology streams.Topology
	// Overdue, DueSoon and Interval are the poll intervals of a property
	// with an overdue milestone, with one due within a day, and of any
	// other. Defaults 5m, 15m, 30m.
	Overdue  time.Duration
	DueSoon  time.Duration
	Interval time.Duration
	// Tick is how often the poller looks for properties due. Default
	// Overdue/10, at least 10ms.
	Tick time.Duration
	// Yield is how long the poller waits past the end of a throttle (the
	// shared budget spent for reads) before it polls again, so the
	// mutations held by the same throttle take the new window first and
	// polling never starves them. Default Tick. Not an omq setting: see
	// New for why its value is what it is.
	Yield time.Duration
	// ReadShare is the share of the shared API budget the poller may spend
	// in each of its windows (ReadsPerMinute per Minute, ReadsPerHour per
	// Hour): what remains is left to creations and milestone updates, so
	// polling slows them by at most this share even when they would use the
	// whole budget. A number in (0, 1]; default 0.1 (--poll-read-share).
	// Each replica keeps its own count.
	ReadShare float64
	// BudgetPerHour and BudgetPerMinute are the shared budget's windows
	// (--budget-per-hour, --budget-per-minute). Defaults 1000 and 100.
	BudgetPerHour   int
	BudgetPerMinute int
	// BudgetHour is the budget's hour window; its minute is BudgetHour/60.
	// Default 1h; benchmarks scale it.
	BudgetHour time.Duration
	// Now is the clock due dates are compared with, the API's (omq run:
	// openmoove.Client.Now). Default time.Now.
	Now func() time.Time
	// Logger receives the poller's logs. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, receives omq_poller_polls_total{result} and
	// omq_poller_outcomes_total{kind}.
	Metrics prometheus.Registerer
}

// Poller polls tracked properties at smart intervals and publishes what
// changed. It is a workers.Component.
type Poller struct {
	cfg      Config
	log      *slog.Logger
	polls    *prometheus.CounterVec
	outcomes *prometheus.CounterVec

	run lifecycle.Loop

	share shareCount
}

// New checks cfg, opens the TRACKING bucket unless cfg.Store is set, and
// returns a Poller; Start starts it.
func New(ctx context.Context, cfg Config) (*Poller, error) {
	if cfg.API == nil || cfg.JS == nil {
		return nil, errors.New("poller: Config.API and JS are required")
	}
	cfg.Topology = cfg.Topology.WithDefaults()
	if cfg.Store == nil {
		store, err := OpenStore(ctx, cfg.JS, cfg.Topology)
		if err != nil {
			return nil, err
		}
		cfg.Store = store
	}
	setDur(&cfg.Overdue, DefaultOverdue)
	setDur(&cfg.DueSoon, DefaultDueSoon)
	setDur(&cfg.Interval, DefaultInterval)
	setDur(&cfg.Tick, max(cfg.Overdue/10, 10*time.Millisecond))
	// Yield is not a setting because it guarantees nothing an operator
	// could tune: what keeps polling from starving mutations is the read
	// share (a hard cap per window) and the budget's read reserve (reads
	// never take a window's last tokens). Yield only orders the instant
	// after a reset, when the poller and the messages the same throttle
	// held would wake together; it changes who goes first, not how much
	// either spends. One Tick is enough and costs nothing: the worker
	// runtime hands a throttled message back after the wait plus up to 20%
	// jitter, so for the minute window (wait ≤ 1m) the held mutations are
	// back within 12s, under the default Tick (Overdue/10 = 30s); and the
	// poller only looks for due properties once a Tick anyway, so a poll
	// is late by at most one sweep of an interval ten times longer. Being
	// derived from Tick, it scales with the intervals in tests and
	// benchmarks (which may set it directly).
	setDur(&cfg.Yield, cfg.Tick)
	setDur(&cfg.BudgetHour, time.Hour)
	if cfg.ReadShare == 0 {
		cfg.ReadShare = DefaultReadShare
	}
	if cfg.BudgetPerHour == 0 {
		cfg.BudgetPerHour = budget.DefaultPerHour
	}
	if cfg.BudgetPerMinute == 0 {
		cfg.BudgetPerMinute = budget.DefaultPerMinute
	}
	if !(cfg.ReadShare > 0 && cfg.ReadShare <= 1) { // also rejects NaN
		return nil, fmt.Errorf("poller: ReadShare must be in (0, 1], got %g", cfg.ReadShare)
	}
	if cfg.Overdue <= 0 || cfg.DueSoon < cfg.Overdue || cfg.Interval < cfg.DueSoon {
		return nil, fmt.Errorf("poller: intervals must be positive and Overdue ≤ DueSoon ≤ Interval, got %s, %s, %s", cfg.Overdue, cfg.DueSoon, cfg.Interval)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	p := &Poller{cfg: cfg, log: cfg.Logger.With(logging.KeyComponent, "poller")}
	p.polls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_poller_polls_total",
		Help: "Polls of tracked properties by result (ok, baseline, error, throttled)."}, []string{"result"})
	p.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_poller_outcomes_total",
		Help: "Outcomes published by the poller, by kind."}, []string{"kind"})
	return p, nil
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

// Name is "poller".
func (p *Poller) Name() string { return "poller" }

// Start registers the metrics and starts polling in a goroutine Stop ends.
func (p *Poller) Start(context.Context) error {
	if m := p.cfg.Metrics; m != nil {
		if err := m.Register(p.polls); err != nil {
			return fmt.Errorf("poller metrics: %w", err)
		}
		if err := m.Register(p.outcomes); err != nil {
			return fmt.Errorf("poller metrics: %w", err)
		}
	}
	p.run.Go(p.loop)
	p.log.Info("poller started", "overdue", p.cfg.Overdue, "due_soon", p.cfg.DueSoon, "interval", p.cfg.Interval)
	return nil
}

// Stop ends polling; a poll in flight is abandoned (its snapshot is not
// written, so the next poll announces its changes). If the poll has not
// returned when ctx ends, Stop says so; the metrics are unregistered
// either way, and a second call returns the first call's result.
func (p *Poller) Stop(ctx context.Context) error {
	return p.run.Stop(ctx, "poller", func() string { return "a poll still running" }, func() {
		if m := p.cfg.Metrics; m != nil {
			m.Unregister(p.polls)
			m.Unregister(p.outcomes)
		}
	})
}

func (p *Poller) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := p.cfg.Tick
		if _, err := p.PollDue(ctx); err != nil && ctx.Err() == nil {
			if w, ok := failure.WaitOf(err); ok && failure.KindOf(err) == failure.Throttled {
				wait = max(wait, w+p.cfg.Yield)
				p.log.Debug("poller throttled by the API budget", "wait", w)
			} else {
				p.log.Warn("poll sweep failed", logging.KeyError, err)
			}
		}
		t.Reset(wait)
	}
}

// PollDue polls every tracked property whose next poll is due, one at a
// time, and returns how many it polled. It stops at the first throttle
// (the shared budget is spent for reads) and returns that error.
func (p *Poller) PollDue(ctx context.Context) (int, error) {
	all, err := p.cfg.Store.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range all {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if t.NextPoll.After(time.Now()) {
			continue
		}
		err := p.Poll(ctx, t)
		if failure.KindOf(err) == failure.Throttled {
			p.polls.WithLabelValues("throttled").Inc()
			return n, err
		}
		n++
	}
	return n, nil
}

// Poll reads t's property and milestones, publishes the outcomes of what
// changed since its snapshot, and saves the new snapshot with its next poll
// time. The first poll of a property records the snapshot and announces
// nothing. A throttle is returned untouched (nothing is written); any other
// API failure is recorded in the entry and retried after the shortest
// interval.
func (p *Poller) Poll(ctx context.Context, t *Tracked) error {
	tx := t.TransactionID
	if err := p.share.take(p.cfg, 2, time.Now()); err != nil {
		return err
	}
	ctx = budget.WithLane(ctx, events.LaneReads)
	prop, err := p.cfg.API.Property(ctx, tx)
	var ms []openmoove.Milestone
	if err == nil {
		ms, err = p.cfg.API.Milestones(ctx, tx)
	}
	if err != nil {
		if failure.KindOf(err) == failure.Throttled {
			return err
		}
		p.polls.WithLabelValues("error").Inc()
		p.log.Warn("poll failed", logging.KeyTx, tx, logging.KeyError, err)
		t.LastError, t.NextPoll = err.Error(), time.Now().Add(p.cfg.Overdue)
		if openmoove.IsNotFound(err) && t.GoneSince.IsZero() {
			t.GoneSince = p.cfg.Now()
		}
		if serr := p.cfg.Store.Save(ctx, t); serr != nil && !errors.Is(serr, ErrConflict) && !errors.Is(serr, ErrNotTracked) {
			return serr
		}
		return err
	}
	now := p.cfg.Now()
	cur := NewSnapshot(prop, ms, now)
	cur.ClockOffset = now.Sub(time.Now()).Round(time.Second)
	pid := t.PropertyID
	if pid == 0 {
		fmt.Sscan(prop.ExternalIDs.OpenMoove, &pid)
	}
	// A webhook may update the snapshot meanwhile: diff against the entry as
	// it is when the new snapshot is saved.
	for range 5 {
		if t.Snapshot != nil {
			cur.Team, cur.TeamAt = t.Snapshot.Team, t.Snapshot.TeamAt
		}
		outs := Diff(tx, pid, t.Snapshot, cur, now)
		for _, o := range outs {
			if _, err := events.PublishOutcome(ctx, p.cfg.JS, p.cfg.Topology, o); err != nil {
				return err
			}
			p.outcomes.WithLabelValues(o.Kind).Inc()
			p.log.Info("property changed", logging.KeyTx, tx, logging.KeyKind, o.Kind, "outcome", o.ID)
		}
		result := "ok"
		if t.Snapshot == nil {
			result = "baseline"
		}
		learned := t.PropertyID == 0 && pid != 0
		t.Snapshot, t.PropertyID, t.LastError, t.GoneSince = cur, pid, "", time.Time{}
		t.NextPoll = time.Now().Add(p.Interval(cur, now))
		err := p.cfg.Store.Save(ctx, t)
		if errors.Is(err, ErrConflict) {
			fresh, gerr := p.cfg.Store.Get(ctx, tx)
			if gerr != nil {
				return gerr
			}
			t = fresh
			continue
		}
		if err != nil {
			if errors.Is(err, ErrNotTracked) {
				return nil // untracked meanwhile
			}
			return err
		}
		if learned {
			_ = p.cfg.Store.index(ctx, pid, tx)
		}
		p.polls.WithLabelValues(result).Inc()
		return nil
	}
	return failure.TransientError(fmt.Errorf("poller: %s: too many concurrent updates", tx))
}

// Interval is how long until the next poll of a property in state s: the
// Overdue interval when an open milestone is overdue, DueSoon when one is
// due within a day, Interval otherwise.
func (p *Poller) Interval(s *Snapshot, now time.Time) time.Duration {
	d := p.cfg.Interval
	for _, m := range s.Milestones {
		switch {
		case m.Overdue(now):
			return p.cfg.Overdue
		case m.DueWithin(now, 24*time.Hour):
			d = p.cfg.DueSoon
		}
	}
	return d
}

// ErrReadShare is wrapped by the Throttled error of a poll that would spend
// more than the poller's share of the budget.
var ErrReadShare = errors.New("poller: read share of the API budget spent")

// shareCount counts the poller's reads in windows like the budget's.
type shareCount struct {
	mu                  sync.Mutex
	hourStart, minStart time.Time
	hour, min           int
}

func (s *shareCount) take(c Config, n int, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	hourLen, minLen := c.BudgetHour, c.BudgetHour/60
	if !now.Before(s.hourStart.Add(hourLen)) {
		s.hourStart, s.hour = now, 0
	}
	if !now.Before(s.minStart.Add(minLen)) {
		s.minStart, s.min = now, 0
	}
	maxHour := max(int(c.ReadShare*float64(c.BudgetPerHour)), n)
	maxMin := max(int(c.ReadShare*float64(c.BudgetPerMinute)), n)
	var wait time.Duration
	if s.hour+n > maxHour {
		wait = s.hourStart.Add(hourLen).Sub(now)
	}
	if s.min+n > maxMin {
		wait = max(wait, s.minStart.Add(minLen).Sub(now))
	}
	if wait > 0 {
		return failure.ThrottledError(ErrReadShare, wait)
	}
	s.hour += n
	s.min += n
	return nil
}
