package milestones

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/properties"
)

// Modes of the worker.
const (
	// ModeComplete calls the milestone update endpoint (the default).
	ModeComplete = "complete"
	// ModeNotify publishes the outcome without the update call, for an API
	// without the update endpoint.
	ModeNotify = "notify"
)

// Where a milestone_completed outcome's address comes from (Config.Address,
// --outcome-address).
const (
	// AddressKnown (the default): the address omq knows without a call —
	// the ledger, for a property omq created, or a property.created
	// webhook. Otherwise the outcome has no address field.
	AddressKnown = "known"
	// AddressRead: as AddressKnown, else one GET /properties/{id}/ per
	// transaction.
	AddressRead = "read"
)

// Defaults of Config.
const (
	// DefaultGrace is Config.Grace's default (and --transaction-grace's).
	DefaultGrace = 10 * time.Minute
	// DefaultCacheMaxAge is Config.CacheMaxAge's default.
	DefaultCacheMaxAge = 30 * time.Minute
)

// Config configures the handler.
type Config struct {
	// API is the OpenMoove client. Required.
	API *openmoove.Client
	// JS reaches the MILESTONES bucket and the outcomes stream. Required.
	JS jetstream.JetStream
	// Topology names them. Default streams.New(streams.DefaultPrefix).
	Topology streams.Topology
	// Map is the event type → milestone candidates table. Default
	// events.DefaultMilestones().
	Map events.MilestoneMap
	// Mode is ModeComplete (default) or ModeNotify.
	Mode string
	// Address is AddressKnown (default) or AddressRead.
	Address string
	// Grace is how long after an event's publish a 404 for its transaction
	// is treated as transient (its creation may still be queued). Default
	// DefaultGrace, 10m.
	Grace time.Duration
	// CacheMaxAge bounds how old a cached milestone list may be before it is
	// read again. Default DefaultCacheMaxAge, 30m.
	CacheMaxAge time.Duration
	// Logger. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, receives omq_milestone_events_total.
	Metrics prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Results counted in omq_milestone_events_total{result}.
const (
	ResultCompleted   = "completed"    // the update call completed it
	ResultNotified    = "notified"     // notify mode: outcome only
	ResultAlreadyDone = "already_done" // it was completed already: nothing to do
	ResultRepublished = "republished"  // a redelivery of the event that completed it
)

// Handler turns one event into at most one milestone completion.
type Handler struct {
	cfg    Config
	ledger *properties.Ledger
	cache  cache
	locks  locks
	log    *slog.Logger
	counts *prometheus.CounterVec
}

// NewHandler checks cfg and binds the MILESTONES bucket.
func NewHandler(ctx context.Context, cfg Config) (*Handler, error) {
	if cfg.API == nil || cfg.JS == nil {
		return nil, errors.New("milestones: Config.API and Config.JS are required")
	}
	cfg.Topology = cfg.Topology.WithDefaults()
	if cfg.Map == nil {
		cfg.Map = events.DefaultMilestones()
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeComplete
	}
	if cfg.Mode != ModeComplete && cfg.Mode != ModeNotify {
		return nil, fmt.Errorf("milestones: mode %q: want %s or %s", cfg.Mode, ModeComplete, ModeNotify)
	}
	if cfg.Address == "" {
		cfg.Address = AddressKnown
	}
	if cfg.Address != AddressKnown && cfg.Address != AddressRead {
		return nil, fmt.Errorf("milestones: outcome address %q: want %s or %s", cfg.Address, AddressKnown, AddressRead)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.CacheMaxAge <= 0 {
		cfg.CacheMaxAge = DefaultCacheMaxAge
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	kv, err := cfg.JS.KeyValue(ctx, cfg.Topology.MilestonesBucket())
	if err != nil {
		return nil, fmt.Errorf("milestones: bucket %s: %w (run omq streams apply)", cfg.Topology.MilestonesBucket(), err)
	}
	ledger, err := properties.OpenLedger(ctx, cfg.JS, cfg.Topology)
	if err != nil {
		return nil, fmt.Errorf("milestones: %w", err)
	}
	h := &Handler{cfg: cfg, ledger: ledger, cache: cache{kv: kv, maxAge: cfg.CacheMaxAge}, log: cfg.Logger}
	h.counts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "omq_milestone_events_total", Help: "Events the milestone worker finished, by result.",
	}, []string{"result"})
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(h.counts); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Count returns how many events finished with result (one of the Result
// constants).
func (h *Handler) Count(result string) int {
	m := &promMetric{}
	_ = h.counts.WithLabelValues(result).Write(&m.Metric)
	return int(m.GetCounter().GetValue())
}

// Handle is the workers.Handler: parse, find the milestone, complete it if
// needed, publish the outcome.
func (h *Handler) Handle(ctx context.Context, m *workers.Message) error {
	ev, err := decode(m, h.cfg.Topology)
	if err != nil {
		return err
	}
	candidates, ok := h.cfg.Map.Candidates(ev.Type)
	if !ok {
		return failure.PermanentError(fmt.Errorf("unknown event type %q: the milestone map has no row for it (want one of %s)", ev.Type, strings.Join(events.Types(), ", ")))
	}
	unlock, err := h.locks.lock(ctx, ev.TransactionID)
	if err != nil {
		return err
	}
	defer unlock()
	now := h.cfg.Now()

	e, err := h.cache.get(ctx, ev.TransactionID, now)
	if err != nil {
		return err
	}
	if e == nil || e.expired {
		if e, err = h.refresh(ctx, ev, m, e); err != nil {
			return err
		}
	}
	target := pick(e, candidates)
	if !e.fresh && (target == nil || (e.Partial && target.Name != candidates[0])) {
		// The template may have changed since it was cached, or a
		// partial entry may lack an earlier candidate.
		if e, err = h.refresh(ctx, ev, m, e); err != nil {
			return err
		}
		target = pick(e, candidates)
	}
	if target == nil {
		return failure.PermanentError(fmt.Errorf("transaction %s has no milestone %s for event %s; it has: %s (fix the transaction id or --milestone-map)",
			ev.TransactionID, quoteList(candidates), ev.Type, strings.Join(e.names(), ", ")))
	}

	result := ResultCompleted
	switch {
	case h.cfg.Mode == ModeNotify:
		result = ResultNotified
	case target.Completed && target.EventID != ev.ID:
		h.counts.WithLabelValues(ResultAlreadyDone).Inc()
		h.log.Debug("milestone already completed", logging.KeyTx, ev.TransactionID, "milestone", target.Name, "event_id", ev.ID)
		return nil
	case target.Completed:
		result = ResultRepublished
	default:
		if e, target, err = h.complete(ctx, ev, m, e, target); err != nil {
			return err
		}
		if target.EventID != ev.ID { // the fresh list said someone else completed it
			h.counts.WithLabelValues(ResultAlreadyDone).Inc()
			return nil
		}
	}
	if err := h.address(ctx, ev, e); err != nil {
		return err
	}
	if _, err := events.PublishOutcome(ctx, h.cfg.JS, h.cfg.Topology, h.outcome(ev, e, target)); err != nil {
		return err
	}
	h.counts.WithLabelValues(result).Inc()
	h.logCompleted(ev, target, result)
	return nil
}

// logCompleted is the one line an operator greps for after an outage to
// see the backlog drain. Ids only: the outcome carries the address, a log
// must not (logs travel further than the outcomes stream).
func (h *Handler) logCompleted(ev events.Event, target *cached, result string) {
	h.log.Info("milestone completed", logging.KeyTx, ev.TransactionID,
		"milestone", target.Name, "milestone_id", target.ID,
		"event_id", ev.ID, "event_type", ev.Type, "result", result, "mode", h.cfg.Mode)
}

// complete calls the update endpoint and records the completion. A 404
// from a cached milestone id reads the milestones again once: the cache may
// be stale.
func (h *Handler) complete(ctx context.Context, ev events.Event, m *workers.Message, e *entry, target *cached) (*entry, *cached, error) {
	req := openmoove.UpdateMilestoneRequest{Completed: true}
	if !ev.OccurredAt.IsZero() {
		at := ev.OccurredAt.UTC()
		req.CompletedAt = &at
	}
	_, err := h.cfg.API.UpdateMilestone(ctx, ev.TransactionID, target.ID, req)
	if openmoove.IsNotFound(err) && !e.fresh {
		name := target.Name
		if e, err = h.refresh(ctx, ev, m, e); err != nil {
			return nil, nil, err
		}
		if target = e.find(name); target == nil {
			return nil, nil, failure.PermanentError(fmt.Errorf("transaction %s no longer has milestone %q; it has: %s", ev.TransactionID, name, strings.Join(e.names(), ", ")))
		}
		if target.Completed {
			return e, target, nil
		}
		_, err = h.cfg.API.UpdateMilestone(ctx, ev.TransactionID, target.ID, req)
	}
	switch {
	case err == nil: // checked first: StatusOf is 0 for a network error too
	case openmoove.IsNotFound(err) || openmoove.StatusOf(err) == http.StatusMethodNotAllowed:
		return nil, nil, failure.PermanentError(fmt.Errorf("%w; the API cannot update milestone %q of transaction %s: if it has no milestone update endpoint, run the milestone worker with --milestone-mode notify, then replay this dead letter",
			err, target.Name, ev.TransactionID))
	default:
		return nil, nil, err
	}
	target.Completed, target.EventID = true, ev.ID
	return e, target, h.cache.put(ctx, ev.TransactionID, e)
}

// refresh reads the milestones from the API and caches them. A 404 is a
// snooze (not yet, no attempt spent, no breaker) within the grace period counted from the message's publish
// time (the transaction's creation may still be queued), then permanent.
func (h *Handler) refresh(ctx context.Context, ev events.Event, m *workers.Message, old *entry) (*entry, error) {
	ms, err := h.cfg.API.Milestones(ctx, ev.TransactionID)
	if openmoove.IsNotFound(err) {
		age := h.cfg.Now().Sub(m.Published)
		if age < h.cfg.Grace {
			// Not a failure yet: the API answered, the transaction may simply
			// not exist yet. Look again about ten times within the grace.
			wait := min(max(h.cfg.Grace/10, 100*time.Millisecond), time.Minute, h.cfg.Grace-age)
			return nil, failure.SnoozeError(fmt.Errorf("transaction %s not found (404) %s after the event was published; retrying for up to %s in case its creation is still queued (--transaction-grace): %w",
				ev.TransactionID, age.Round(time.Second), h.cfg.Grace, err), wait)
		}
		return nil, failure.PermanentError(fmt.Errorf("transaction %s not found (404), still %s after the event was published (--transaction-grace %s): check the transaction id: %w",
			ev.TransactionID, age.Round(time.Second), h.cfg.Grace, err))
	}
	if err != nil {
		return nil, err
	}
	e := newEntry(ms, h.cfg.Now())
	e.keep(old)
	return e, h.cache.put(ctx, ev.TransactionID, e)
}

// address finds the property's address once per transaction, without a
// call when omq knows it: a property.created webhook may have put it in the
// cache, and the ledger has it for a property omq created. Only with
// AddressRead does an unknown address cost a read; with AddressKnown the
// entry remembers that it was looked for, so later events look no more.
func (h *Handler) address(ctx context.Context, ev events.Event, e *entry) error {
	if e.HasAddress || (e.AddressLooked && h.cfg.Address == AddressKnown) {
		return nil
	}
	le, err := h.ledger.ByTransaction(ctx, ev.TransactionID)
	switch {
	case err == nil && le.Address != "":
		e.Address, e.HasAddress = le.Address, true
	case err != nil && !errors.Is(err, properties.ErrNoEntry):
		return err
	case h.cfg.Address == AddressRead:
		p, err := h.cfg.API.Property(ctx, ev.TransactionID)
		if err != nil {
			return err
		}
		e.Address, e.HasAddress = p.PropertyPack.Address.Line1, true
	default:
		e.AddressLooked = true
	}
	return h.cache.put(ctx, ev.TransactionID, e)
}

func (h *Handler) outcome(ev events.Event, e *entry, target *cached) events.Outcome {
	data := map[string]any{
		"milestone": target.Name, "milestone_id": target.ID,
		"actor": ev.Actor, "event_type": ev.Type, "mode": h.cfg.Mode,
	}
	if e.HasAddress {
		data["address"] = e.Address
	}
	return events.Outcome{
		ID:            events.OutcomeID(events.OutcomeMilestoneCompleted, ev.ID),
		Kind:          events.OutcomeMilestoneCompleted,
		OccurredAt:    h.cfg.Now().UTC(),
		TransactionID: ev.TransactionID,
		EventID:       ev.ID,
		Data:          data,
	}
}

// decode trusts nothing: the body must be a valid event whose type matches
// its subject. It fills a missing id from the message's idempotency key.
func decode(m *workers.Message, top streams.Topology) (events.Event, error) {
	ev, err := events.Parse(m.Data)
	if err != nil {
		return ev, failure.PermanentError(err)
	}
	if want := top.EventSubject(ev.Type); m.Subject != want {
		return ev, failure.PermanentError(fmt.Errorf("invalid event: type %q does not match its subject %s (publish it to %s)", ev.Type, m.Subject, want))
	}
	if ev.ID == "" {
		ev.ID = m.IdempotencyKey()
	}
	return ev, nil
}

func pick(e *entry, candidates []string) *cached {
	for _, name := range candidates {
		if c := e.find(name); c != nil {
			return c
		}
	}
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
