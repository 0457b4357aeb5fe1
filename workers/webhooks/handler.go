package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

// Name is the worker's (and its durable consumer's) name.
const Name = "webhooks"

// Webhook events the worker acts on.
const (
	EventPropertyCreated = "property.created"
	EventPropertyUpdated = "property.updated"
	EventMilestonePrefix = "property.milestone."
	// EventMilestoneCreated fills the milestone worker's cache (see
	// resolveGrace).
	EventMilestoneCreated = "property.milestone.created"
)

// resolveGrace is how long after its receipt a property.milestone.created
// whose property omq cannot yet resolve without a call (neither tracked nor
// in the ledger) is tried again: its property.created, or the property
// worker's ledger entry, is usually milliseconds behind. After it the
// webhook is acknowledged unapplied, never resolved by a read: a read to
// save a read is no saving.
const resolveGrace = 10 * time.Second

// DefaultMaxAge is Options.MaxAge's default (and --webhook-max-age's):
// OpenMoove retries for about 20 minutes, and the 10 more cover its
// queueing and clock skew; it also matches the WEBHOOKS stream's 30-minute
// duplicate window.
const DefaultMaxAge = 30 * time.Minute

// Options build the webhook worker. JS and API are required; every other
// field has the default it names.
type Options struct {
	// Worker holds the worker's numbers (omq passes config.Config.Worker);
	// New sets its Name, Stream, Handler, Probe, Topology, Logger and
	// Metrics. Default: the workers package defaults.
	Worker   workers.Config
	JS       jetstream.JetStream
	API      *openmoove.Client
	Topology streams.Topology // Default streams.New(streams.DefaultPrefix).
	// MaxAge is the oldest a webhook may be, from its timestamp to its
	// receipt, and still change state. Default DefaultMaxAge.
	MaxAge  time.Duration
	Logger  *slog.Logger          // Default: discard.
	Metrics prometheus.Registerer // Default: none.
	// Now is the clock of the outcomes. Default time.Now.
	Now func() time.Time
}

// Worker is the webhook worker (a system.Component) and the Handler it
// runs.
type Worker struct {
	*workers.Worker
	Handler *Handler
}

// maxLoggedUnknown caps the unknown event names logged (and remembered):
// a signed sender could name millions.
const maxLoggedUnknown = 100

// Handler handles one webhook.
type Handler struct {
	o        Options
	store    *poller.Store
	ledger   *properties.Ledger
	cache    jetstream.KeyValue
	stamps   stamps
	log      *slog.Logger
	unknown  sync.Map // event name → struct{}: logged once
	unknownN atomic.Int64
	counts   *prometheus.CounterVec
	stale    *prometheus.CounterVec
}

// New returns the webhook worker: a workers.Worker on the WEBHOOKS stream
// with a Handler built from o.
func New(ctx context.Context, o Options) (*Worker, error) {
	h, err := NewHandler(ctx, o)
	if err != nil {
		return nil, err
	}
	top := h.o.Topology
	w, err := workers.New(o.JS, o.Worker.For(workers.Spec{
		Name: Name, Stream: top.WebhooksStream(), Handler: h.Handle,
		Topology: top, Probe: o.API.Probe, Logger: o.Logger, Metrics: o.Metrics,
	}))
	if err != nil {
		return nil, err
	}
	return &Worker{Worker: w, Handler: h}, nil
}

// NewHandler opens the TRACKING and MILESTONES buckets.
func NewHandler(ctx context.Context, o Options) (*Handler, error) {
	if o.JS == nil || o.API == nil {
		return nil, errors.New("webhooks: Options.JS and API are required")
	}
	o.Topology = o.Topology.WithDefaults()
	if o.Logger == nil {
		o.Logger = logging.Discard()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	store, err := poller.OpenStore(ctx, o.JS, o.Topology)
	if err != nil {
		return nil, err
	}
	cache, err := o.JS.KeyValue(ctx, o.Topology.MilestonesBucket())
	if err != nil {
		return nil, fmt.Errorf("webhooks: bucket %s: %w (run omq streams apply)", o.Topology.MilestonesBucket(), err)
	}
	ledger, err := properties.OpenLedger(ctx, o.JS, o.Topology)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	h := &Handler{o: o, store: store, ledger: ledger, cache: cache, stamps: stamps{kv: cache}, log: o.Logger.With(logging.KeyComponent, "webhooks")}
	h.counts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_webhook_events_total",
		Help: "Webhooks handled by the webhook worker, by event (the known names, else other) and result."}, []string{"event", "result"})
	h.stale = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_webhook_stale_total",
		Help: "Webhooks acknowledged without being applied: too_old (past --webhook-max-age at receipt) or superseded (older than the last one applied)."}, []string{"reason"})
	if o.Metrics != nil {
		for _, c := range []prometheus.Collector{h.counts, h.stale} {
			if err := o.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("webhooks metrics: %w", err)
			}
		}
	}
	return h, nil
}

type envelope struct {
	Event string `json:"event"`
	// Timestamp is parsed only for the events omq applies (timestamp), so
	// an event it ignores is never dead-lettered for it.
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

type milestoneData struct {
	PropertyID int64 `json:"property_id"`
	Milestone  struct {
		ID            int64      `json:"id"`
		Name          string     `json:"name"`
		Completed     bool       `json:"completed"`
		CompletedDate *time.Time `json:"completed_date"`
		DueDate       time.Time  `json:"due_date"`
	} `json:"milestone"`
}

// decodeEnvelope reads a stored webhook body; a body that is not an
// envelope with an event name is a permanent failure.
func decodeEnvelope(b []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Event == "" {
		return envelope{}, failure.PermanentError(fmt.Errorf("webhooks: body is not an OpenMoove webhook envelope {event,timestamp,data}"))
	}
	// The timestamp is read (events.ParseTime) only for the events omq
	// applies, so an event it ignores is never dead-lettered for it.
	return env, nil
}

// Handle acts on one webhook (see the package documentation).
func (h *Handler) Handle(ctx context.Context, m *workers.Message) error {
	env, err := decodeEnvelope(m.Data)
	if err != nil {
		return err
	}
	var result string
	switch {
	case env.Event == EventPropertyCreated:
		result, err = h.fresh(ctx, m, env, h.created)
	case env.Event == EventPropertyUpdated:
		result, err = h.fresh(ctx, m, env, h.updated)
	case strings.HasPrefix(env.Event, EventMilestonePrefix):
		result, err = h.fresh(ctx, m, env, func(ctx context.Context, env envelope, at time.Time) (string, error) {
			return h.milestone(ctx, m, env, at)
		})
	default:
		if h.firstUnknown(env.Event) {
			h.log.Warn("webhook event omq does not handle; left in the stream", "event", env.Event, logging.KeySubject, m.Subject)
		}
		result = "ignored"
	}
	if err == nil {
		h.counts.WithLabelValues(eventLabel(env.Event), result).Inc()
	}
	return err
}

// firstUnknown reports whether event is an unknown name not logged yet,
// remembering at most maxLoggedUnknown names.
func (h *Handler) firstUnknown(event string) bool {
	if h.unknownN.Load() >= maxLoggedUnknown {
		return false
	}
	if _, seen := h.unknown.LoadOrStore(event, struct{}{}); seen {
		return false
	}
	return h.unknownN.Add(1) <= maxLoggedUnknown
}

// ResultStale is the omq_webhook_events_total result of a webhook
// acknowledged without being applied (omq_webhook_stale_total says why).
const ResultStale = "stale"

type applier func(ctx context.Context, env envelope, at time.Time) (string, error)

// fresh applies a webhook that is no older than --webhook-max-age. Its age
// is counted to its receipt (when it entered the stream), not to now, so a
// backlog held by an API outage is not thrown away. OpenMoove stamps a
// webhook with its own clock, so the receipt is placed on that clock (the
// API client's offset) before the two are compared: a skewed clock on
// either side is not mistaken for age, or for a stamp from the future.
func (h *Handler) fresh(ctx context.Context, m *workers.Message, env envelope, apply applier) (string, error) {
	received := m.Published.Add(h.o.API.ClockOffset())
	if m.Published.IsZero() {
		received = h.o.Now()
	}
	at, err := timestamp(env, received)
	if err != nil {
		return "", err
	}
	if age := received.Sub(at); age > h.o.MaxAge {
		return h.skip(env, StaleTooOld, at, "age", age.Round(time.Second), "max_age", h.o.MaxAge), nil
	}
	return apply(ctx, env, at)
}

// skip counts and logs, with ids only, a webhook that changes nothing.
func (h *Handler) skip(env envelope, reason string, at time.Time, attrs ...any) string {
	var ids struct {
		PropertyID int64 `json:"property_id"`
		Milestone  struct {
			ID int64 `json:"id"`
		} `json:"milestone"`
	}
	_ = json.Unmarshal(env.Data, &ids) // for the log line only
	h.stale.WithLabelValues(reason).Inc()
	h.log.Info("webhook older than the state omq holds; acknowledged, not applied",
		append([]any{"event", eventLabel(env.Event), "reason", reason, "property_id", ids.PropertyID,
			"milestone_id", ids.Milestone.ID, "timestamp", at.UTC().Format(time.RFC3339)}, attrs...)...)
	return ResultStale
}

func (h *Handler) created(ctx context.Context, env envelope, at time.Time) (string, error) {
	var d struct {
		PropertyID int64              `json:"property_id"`
		Property   openmoove.Property `json:"property"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.Property.TransactionID == "" {
		return "", failure.PermanentError(errors.New("webhooks: property.created without data.property.transactionId"))
	}
	if ok, err := h.propertyFresh(ctx, env, d.PropertyID, at); !ok || err != nil {
		return ResultStale, err
	}
	added, err := h.store.Track(ctx, d.Property.TransactionID, d.PropertyID, poller.SourceWebhook, time.Now())
	if err != nil {
		return "", err
	}
	// The milestone worker's outcomes name the address; this spares a read.
	if line1 := d.Property.PropertyPack.Address.Line1; line1 != "" {
		if err := milestones.FillAddress(ctx, h.cache, d.Property.TransactionID, line1, time.Now()); err != nil {
			return "", err
		}
	}
	if added {
		h.log.Info("tracking property announced by webhook", logging.KeyTx, d.Property.TransactionID, "property_id", d.PropertyID)
		return "tracked", nil
	}
	return "already_tracked", nil
}

func (h *Handler) updated(ctx context.Context, env envelope, at time.Time) (string, error) {
	var d struct {
		PropertyID int64 `json:"property_id"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.PropertyID == 0 {
		return "", failure.PermanentError(errors.New("webhooks: property.updated without data.property_id"))
	}
	if ok, err := h.propertyFresh(ctx, env, d.PropertyID, at); !ok || err != nil {
		return ResultStale, err
	}
	t, err := h.store.ByPropertyID(ctx, d.PropertyID)
	if errors.Is(err, poller.ErrNotTracked) {
		return "not_tracked", nil
	}
	if err != nil {
		return "", err
	}
	t.NextPoll = time.Now()
	if err := h.store.Save(ctx, t); err != nil && !errors.Is(err, poller.ErrConflict) && !errors.Is(err, poller.ErrNotTracked) {
		return "", err
	}
	return "poll_soon", nil
}

func (h *Handler) milestone(ctx context.Context, msg *workers.Message, env envelope, at time.Time) (string, error) {
	var d milestoneData
	if err := json.Unmarshal(env.Data, &d); err != nil || d.PropertyID == 0 || d.Milestone.ID == 0 {
		return "", failure.PermanentError(errors.New("webhooks: milestone webhook without data.property_id and data.milestone.id"))
	}
	m := poller.Milestone{ID: d.Milestone.ID, Name: d.Milestone.Name, Completed: d.Milestone.Completed,
		DueDate: d.Milestone.DueDate.UTC()}
	if m.Completed && d.Milestone.CompletedDate != nil {
		done := d.Milestone.CompletedDate.UTC()
		m.CompletedAt = &done
	}
	if env.Event == EventMilestoneCreated {
		return h.milestoneCreated(ctx, msg, env.Event, d.PropertyID, m)
	}
	key := milestoneKey(d.PropertyID, m.ID)
	for range 5 {
		prev, err := h.stamps.get(ctx, key)
		if err != nil {
			return "", err
		}
		if prev.older(at) {
			return h.skip(env, StaleSuperseded, at, "applied", prev.At.UTC().Format(time.RFC3339)), nil
		}
		t, tx, err := h.resolve(ctx, d.PropertyID, true)
		if err != nil {
			return "", err
		}
		if prev != nil && prev.At.Equal(at) && prev.Milestone != nil && prev.Milestone.Completed != m.Completed {
			// Two changes in the same second: their order is unknowable
			// from the webhooks, so the API says which one stands.
			if m, err = h.truth(ctx, tx, m); err != nil {
				return "", err
			}
		}
		if err := h.stamps.claim(ctx, key, stamp{At: at, Milestone: &m}, prev); errors.Is(err, errStampMoved) {
			continue
		} else if err != nil {
			return "", err
		}
		result, err := h.apply(ctx, env.Event, t, tx, d.PropertyID, m)
		if err != nil {
			return "", err
		}
		return result, h.settle(ctx, env.Event, key, at, d.PropertyID)
	}
	return "", failure.TransientError(fmt.Errorf("webhooks: milestone %d of property %d: too many concurrent webhooks", m.ID, d.PropertyID))
}

// milestoneCreated fills the milestone worker's cache with a milestone
// OpenMoove announced, so its first event needs no read; it resolves the
// property only without a call (tracked, or created by omq). It changes no
// state omq holds — not the cache's, not the snapshot's — so it claims no
// stamp: a late one is harmless.
func (h *Handler) milestoneCreated(ctx context.Context, msg *workers.Message, event string, pid int64, m poller.Milestone) (string, error) {
	t, tx, err := h.resolve(ctx, pid, false)
	if errors.Is(err, errUnresolved) {
		if age := time.Since(msg.Published); !msg.Published.IsZero() && age < resolveGrace {
			return "", failure.SnoozeError(fmt.Errorf("webhooks: property %d of a %s is not yet known to omq (%s after receipt); trying again for up to %s: %w",
				pid, event, age.Round(time.Millisecond), resolveGrace, err), resolveGrace/10)
		}
		return "unknown_property", nil
	}
	if err != nil {
		return "", err
	}
	result := "known"
	if t == nil || t.Snapshot == nil || t.Snapshot.Milestone(m.ID) == nil {
		if result, err = h.announce(ctx, event, t, tx, pid, m); err != nil {
			return "", err
		}
	}
	if err := milestones.FillMilestone(ctx, h.cache, tx, m.ID, m.Name, m.Completed, time.Now()); err != nil {
		return "", err
	}
	return result, nil
}

// apply announces a milestone's state and writes it to the cache.
func (h *Handler) apply(ctx context.Context, event string, t *poller.Tracked, tx string, pid int64, m poller.Milestone) (string, error) {
	result, err := h.announce(ctx, event, t, tx, pid, m)
	if err != nil {
		return "", err
	}
	if err := milestones.UpdateCache(ctx, h.cache, tx, m.ID, m.Name, m.Completed); err != nil {
		return "", err
	}
	return result, nil
}

// settle writes the newest state again when a newer webhook of the same
// milestone was claimed (by another replica or delivery) while this one was
// being applied, and looks again after each write: every write is followed
// by a look at the stamp, so whoever writes last writes the newest state.
// The newest webhook's own delivery settles what a bounded loop leaves.
func (h *Handler) settle(ctx context.Context, event, key string, at time.Time, pid int64) error {
	for range 5 {
		cur, err := h.stamps.get(ctx, key)
		if err != nil || cur == nil || !cur.At.After(at) || cur.Milestone == nil {
			return err
		}
		t, tx, err := h.resolve(ctx, pid, true)
		if err != nil {
			return err
		}
		if _, err = h.apply(ctx, event, t, tx, pid, *cur.Milestone); err != nil {
			return err
		}
		at = cur.At
	}
	return nil
}

// truth is the API's state of milestone m (m itself if the API no longer
// lists it).
func (h *Handler) truth(ctx context.Context, tx string, m poller.Milestone) (poller.Milestone, error) {
	ms, err := h.o.API.Milestones(ctx, tx)
	if err != nil {
		return m, err
	}
	for _, a := range ms {
		if a.ID == m.ID {
			return poller.FromAPI(a), nil
		}
	}
	return m, nil
}

// propertyFresh stamps a property event, reporting false (after counting
// it) when a newer one of the same property was applied already. Property
// events only start tracking or hasten a poll, which reads the API, so an
// equal time is applied again harmlessly.
func (h *Handler) propertyFresh(ctx context.Context, env envelope, pid int64, at time.Time) (bool, error) {
	if pid == 0 {
		return true, nil
	}
	key := propertyKey(pid)
	for range 5 {
		prev, err := h.stamps.get(ctx, key)
		if err != nil {
			return false, err
		}
		if prev.older(at) {
			h.skip(env, StaleSuperseded, at, "applied", prev.At.UTC().Format(time.RFC3339))
			return false, nil
		}
		if prev != nil && prev.At.Equal(at) {
			return true, nil
		}
		if err := h.stamps.claim(ctx, key, stamp{At: at}, prev); !errors.Is(err, errStampMoved) {
			return err == nil, err
		}
	}
	return false, failure.TransientError(fmt.Errorf("webhooks: property %d: too many concurrent webhooks", pid))
}

// errUnresolved: the property is neither tracked nor created by omq, and
// resolve was told not to read it.
var errUnresolved = errors.New("property neither tracked nor in the ledger")

// resolve finds the transaction of a numeric property id: tracked, created
// by omq (the ledger links the two ids), or, if read, one API read.
func (h *Handler) resolve(ctx context.Context, pid int64, read bool) (*poller.Tracked, string, error) {
	t, err := h.store.ByPropertyID(ctx, pid)
	if err == nil {
		return t, t.TransactionID, nil
	}
	if !errors.Is(err, poller.ErrNotTracked) {
		return nil, "", err
	}
	e, err := h.ledger.ByPropertyID(ctx, pid)
	if err == nil {
		return nil, e.TransactionID, nil
	}
	if !errors.Is(err, properties.ErrNoEntry) {
		return nil, "", err
	}
	if !read {
		return nil, "", errUnresolved
	}
	p, err := h.o.API.Property(ctx, strconv.FormatInt(pid, 10))
	if err != nil {
		return nil, "", err
	}
	return nil, p.TransactionID, nil
}

// announce publishes the milestone's outcome unless the snapshot already
// holds its state, then records it in the snapshot.
func (h *Handler) announce(ctx context.Context, event string, t *poller.Tracked, tx string, pid int64, m poller.Milestone) (string, error) {
	for range 5 {
		var prev *time.Time
		known, isNew := false, true
		address := ""
		if t != nil && t.Snapshot != nil {
			address = t.Snapshot.Address
			if s := t.Snapshot.Milestone(m.ID); s != nil {
				isNew, known, prev = false, s.Completed == m.Completed, s.CompletedAt
			}
		}
		if known {
			return "known", nil
		}
		var outs []events.Outcome
		now := h.o.Now()
		if isNew && t != nil && t.Snapshot != nil {
			outs = append(outs, events.Outcome{ID: events.OutcomeID(poller.OutcomeMilestoneAdded, fmt.Sprintf("%s:%d", tx, m.ID)),
				Kind: poller.OutcomeMilestoneAdded, OccurredAt: now, TransactionID: tx, PropertyID: pid,
				Data: map[string]any{"milestone": m.Name, "milestone_id": m.ID, "due_date": m.DueDate, "address": address, "source": poller.ViaWebhook}})
		}
		if m.Completed || !isNew {
			outs = append(outs, poller.MilestoneOutcome(tx, pid, address, m, prev, poller.ViaWebhook, now))
		}
		for _, o := range outs {
			if _, err := events.PublishOutcome(ctx, h.o.JS, h.o.Topology, o); err != nil {
				return "", err
			}
			h.log.Info("milestone changed on OpenMoove", "event", event, logging.KeyTx, tx, logging.KeyKind, o.Kind, "outcome", o.ID)
		}
		if t == nil || t.Snapshot == nil {
			return "announced", nil
		}
		if s := t.Snapshot.Milestone(m.ID); s != nil {
			s.Completed, s.CompletedAt = m.Completed, m.CompletedAt
		} else {
			t.Snapshot.Milestones = append(t.Snapshot.Milestones, m)
		}
		err := h.store.Save(ctx, t)
		if errors.Is(err, poller.ErrNotTracked) {
			return "announced", nil
		}
		if !errors.Is(err, poller.ErrConflict) {
			return "announced", err
		}
		if t, err = h.store.Get(ctx, tx); err != nil {
			return "", err
		}
	}
	return "", failure.TransientError(fmt.Errorf("webhooks: %s: too many concurrent snapshot updates", tx))
}
