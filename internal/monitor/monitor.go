package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/lifecycle"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

// Alert kinds, published to <prefix>.outcomes.<kind>.
const (
	AlertOverdue           = "alert.overdue"
	AlertAtRisk            = "alert.at_risk"
	AlertInvitationPending = "alert.invitation_pending"
)

// Defaults of Config, and of the settings that set it (--alert-every,
// --at-risk-within, --invitation-pending-days).
const (
	DefaultEvery          = time.Hour
	DefaultAtRiskWithin   = 48 * time.Hour
	DefaultInvitationDays = 3
)

// Config configures a Monitor.
type Config struct {
	// Store is the TRACKING bucket. Default: opened from JS and Topology.
	Store *poller.Store
	// API reads property details for invitation tracking, through the
	// shared budget. Required.
	API *openmoove.Client
	// JS publishes the alerts. Required.
	JS       jetstream.JetStream
	Topology streams.Topology
	// Every is how often the portfolio is checked. Default 1h.
	Every time.Duration
	// AtRiskWithin: an open milestone due within it is at risk. Default 48h.
	AtRiskWithin time.Duration
	// InvitationDays is how long an invitation may stay pending before an
	// alert, and how long between two alerts for it. Default 3 days.
	InvitationDays int
	// Now is the API's clock (omq run: openmoove.Client.Now), against
	// which due dates and invitations are judged. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Monitor publishes the portfolio's alerts on a schedule. It is a
// workers.Component.
type Monitor struct {
	cfg  Config
	log  *slog.Logger
	loop lifecycle.Loop
}

// New checks cfg, opens the TRACKING bucket unless cfg.Store is set, and
// returns a Monitor.
func New(ctx context.Context, cfg Config) (*Monitor, error) {
	if cfg.API == nil || cfg.JS == nil {
		return nil, errors.New("monitor: Config.API and JS are required")
	}
	cfg.Topology = cfg.Topology.WithDefaults()
	if cfg.Store == nil {
		store, err := poller.OpenStore(ctx, cfg.JS, cfg.Topology)
		if err != nil {
			return nil, err
		}
		cfg.Store = store
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.AtRiskWithin <= 0 {
		cfg.AtRiskWithin = DefaultAtRiskWithin
	}
	if cfg.InvitationDays <= 0 {
		cfg.InvitationDays = DefaultInvitationDays
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	return &Monitor{cfg: cfg, log: cfg.Logger.With(logging.KeyComponent, "monitor")}, nil
}

// Name is "monitor".
func (m *Monitor) Name() string { return "monitor" }

// Start checks at once, then every Config.Every, in a goroutine Stop ends.
func (m *Monitor) Start(context.Context) error {
	m.loop.Go(m.schedule)
	m.log.Info("monitor started", "every", m.cfg.Every, "at_risk_within", m.cfg.AtRiskWithin, "invitation_days", m.cfg.InvitationDays)
	return nil
}

func (m *Monitor) schedule(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("portfolio check incomplete", "alerts", n, logging.KeyError, err)
		}
		t.Reset(m.cfg.Every)
	}
}

// Stop ends the schedule and waits, within ctx, for a check in progress;
// alerts it had not published come with the next check. A second call
// returns the first call's result.
func (m *Monitor) Stop(ctx context.Context) error {
	return m.loop.Stop(ctx, "monitor", func() string { return "a portfolio check still running" }, nil)
}

// Check analyses the portfolio once and publishes the alerts due; it
// returns how many it published. A spent budget ends invitation tracking
// for this check (the rest waits for the next).
func (m *Monitor) Check(ctx context.Context) (int, error) {
	all, err := m.cfg.Store.List(ctx)
	if err != nil {
		return 0, err
	}
	now := m.cfg.Now()
	day := now.UTC().Format(time.DateOnly)
	n := 0
	var errs []error
	throttled := false
	for _, t := range all {
		// A gone property's snapshot is history: nobody can act on it.
		if t.Snapshot == nil || !t.GoneSince.IsZero() {
			continue
		}
		for _, ms := range t.Snapshot.Milestones {
			kind := ""
			switch {
			case ms.Overdue(now):
				kind = AlertOverdue
			case ms.DueWithin(now, m.cfg.AtRiskWithin):
				kind = AlertAtRisk
			default:
				continue
			}
			sent, err := m.milestoneAlert(ctx, t, ms, kind, day, now)
			if err != nil {
				errs = append(errs, err)
			} else if sent {
				n++
			}
		}
		if throttled {
			continue
		}
		sent, err := m.invitations(ctx, t, now)
		n += sent
		if failure.KindOf(err) == failure.Throttled {
			throttled = true
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// milestoneAlert publishes kind for ms unless it was published today.
func (m *Monitor) milestoneAlert(ctx context.Context, t *poller.Tracked, ms poller.Milestone, kind, day string, now time.Time) (bool, error) {
	mark := fmt.Sprintf("alert.%s.%s.%d", kind[len("alert."):], t.TransactionID, ms.ID)
	if v, _ := m.mark(ctx, mark); v == day {
		return false, nil
	}
	o := events.Outcome{ID: fmt.Sprintf("%s:%s:%d:%s", kind, t.TransactionID, ms.ID, day), Kind: kind, OccurredAt: now,
		TransactionID: t.TransactionID, PropertyID: t.PropertyID, Data: map[string]any{
			"milestone": ms.Name, "milestone_id": ms.ID, "due_date": ms.DueDate, "address": t.Snapshot.Address,
			"days_until_due": int(ms.DueDate.Sub(now).Hours() / 24)}}
	if _, err := events.PublishOutcome(ctx, m.cfg.JS, m.cfg.Topology, o); err != nil {
		return false, err
	}
	m.log.Info("milestone alert", logging.KeyKind, kind, logging.KeyTx, t.TransactionID, "milestone", ms.Name)
	return true, m.setMark(ctx, mark, day)
}

// invitations reads the team when it may hold a pending invitation and
// alerts for each one pending too long.
func (m *Monitor) invitations(ctx context.Context, t *poller.Tracked, now time.Time) (int, error) {
	s := t.Snapshot
	pending := s.TeamAt.IsZero()
	for _, mem := range s.Team {
		pending = pending || mem.Status == openmoove.MemberInvited
	}
	if !pending {
		return 0, nil
	}
	d, err := m.cfg.API.PropertyDetail(budget.WithLane(ctx, events.LaneReads), t.TransactionID)
	if err != nil {
		return 0, err
	}
	team := poller.TeamOf(d.Team)
	m.saveTeam(ctx, t.TransactionID, team, now)
	every := time.Duration(m.cfg.InvitationDays) * 24 * time.Hour
	n := 0
	for _, mem := range team {
		if mem.Status != openmoove.MemberInvited || mem.InvitedAt.IsZero() || now.Sub(mem.InvitedAt) < every {
			continue
		}
		mark := fmt.Sprintf("alert.invitation_pending.%s.%s", t.TransactionID, mem.Role)
		if v, _ := m.mark(ctx, mark); v != "" {
			if last, err := time.Parse(time.RFC3339, v); err == nil && now.Sub(last) < every {
				continue
			}
		}
		// One id per reminder period since the invitation.
		period := int(now.Sub(mem.InvitedAt) / every)
		o := events.Outcome{ID: fmt.Sprintf("%s:%s:%s:%d", AlertInvitationPending, t.TransactionID, mem.Role, period),
			Kind: AlertInvitationPending, OccurredAt: now, TransactionID: t.TransactionID, PropertyID: t.PropertyID,
			Data: map[string]any{"email": mem.Email, "role": mem.Role, "address": s.Address, "invited_at": mem.InvitedAt,
				"days_pending": int(now.Sub(mem.InvitedAt).Hours() / 24)}}
		if _, err := events.PublishOutcome(ctx, m.cfg.JS, m.cfg.Topology, o); err != nil {
			return n, err
		}
		m.log.Info("invitation pending", logging.KeyTx, t.TransactionID, "role", mem.Role)
		if err := m.setMark(ctx, mark, now.UTC().Format(time.RFC3339)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (m *Monitor) saveTeam(ctx context.Context, tx string, team []poller.Member, now time.Time) {
	for range 3 {
		t, err := m.cfg.Store.Get(ctx, tx)
		if err != nil || t.Snapshot == nil {
			return
		}
		t.Snapshot.Team, t.Snapshot.TeamAt = team, now
		if err := m.cfg.Store.Save(ctx, t); !errors.Is(err, poller.ErrConflict) {
			return
		}
	}
}

func (m *Monitor) mark(ctx context.Context, key string) (string, error) {
	e, err := m.cfg.Store.KV().Get(ctx, key)
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

func (m *Monitor) setMark(ctx context.Context, key, v string) error {
	if _, err := m.cfg.Store.KV().Put(ctx, key, []byte(v)); err != nil {
		return failure.TransientError(fmt.Errorf("monitor: alert mark %s: %w", key, err))
	}
	return nil
}
