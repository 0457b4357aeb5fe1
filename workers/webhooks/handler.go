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
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/config"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/streams"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
)

// Name is the worker's (and its durable consumer's) name.
const Name = "webhooks"

// Webhook events the worker acts on.
const (
	EventPropertyCreated = "property.created"
	EventPropertyUpdated = "property.updated"
	EventMilestonePrefix = "property.milestone."
)

// Options build the webhook worker.
type Options struct {
	Config   config.Config
	JS       jetstream.JetStream
	API      *openmoove.Client
	Topology streams.Topology
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	// Now is the clock of the outcomes. Default time.Now.
	Now func() time.Time
}

// Handler handles one webhook.
type Handler struct {
	o       Options
	store   *poller.Store
	cache   jetstream.KeyValue
	log     *slog.Logger
	unknown sync.Map // event name → struct{}: logged once
	counts  *prometheus.CounterVec
}

// New returns the webhook worker (a system.Component) and its handler.
func New(ctx context.Context, o Options) (*workers.Worker, *Handler, error) {
	h, err := NewHandler(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	wc := workers.ConfigFrom(o.Config)
	wc.Name, wc.Stream = Name, h.o.Topology.WebhooksStream()
	wc.Handler = h.Handle
	wc.Probe = func(ctx context.Context) error { _, err := o.API.Products(ctx); return err }
	wc.Logger, wc.Metrics = o.Logger, o.Metrics
	w, err := workers.New(o.JS, wc)
	if err != nil {
		return nil, nil, err
	}
	return w, h, nil
}

// NewHandler opens the TRACKING and MILESTONES buckets.
func NewHandler(ctx context.Context, o Options) (*Handler, error) {
	if o.JS == nil || o.API == nil {
		return nil, errors.New("webhooks: Options.JS and API are required")
	}
	if o.Topology.Prefix == "" {
		o.Topology = streams.New("openmoove")
	}
	if o.Logger == nil {
		o.Logger = logging.Discard()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	store, err := poller.OpenStore(ctx, o.JS, o.Topology)
	if err != nil {
		return nil, err
	}
	cache, err := o.JS.KeyValue(ctx, o.Topology.MilestonesBucket())
	if err != nil {
		return nil, fmt.Errorf("webhooks: bucket %s: %w (run omq streams apply)", o.Topology.MilestonesBucket(), err)
	}
	h := &Handler{o: o, store: store, cache: cache, log: o.Logger.With(logging.KeyComponent, "webhooks")}
	h.counts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_webhook_events_total",
		Help: "Webhooks handled by the webhook worker, by event and result."}, []string{"event", "result"})
	if o.Metrics != nil {
		if err := o.Metrics.Register(h.counts); err != nil {
			return nil, fmt.Errorf("webhooks metrics: %w", err)
		}
	}
	return h, nil
}

type envelope struct {
	Event     string          `json:"event"`
	Timestamp time.Time       `json:"timestamp"`
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
	// encoding/json takes offsets such as +24:00 that RFC 3339 (and
	// MarshalJSON) refuse; such a timestamp cannot be compared or stored.
	if _, err := env.Timestamp.MarshalJSON(); err != nil {
		return envelope{}, failure.PermanentError(fmt.Errorf("webhooks: timestamp is not an RFC 3339 date-time: %w", err))
	}
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
		result, err = h.created(ctx, env)
	case env.Event == EventPropertyUpdated:
		result, err = h.updated(ctx, env)
	case strings.HasPrefix(env.Event, EventMilestonePrefix):
		result, err = h.milestone(ctx, env)
	default:
		if _, seen := h.unknown.LoadOrStore(env.Event, struct{}{}); !seen {
			h.log.Warn("webhook event omq does not handle; left in the stream", "event", env.Event, logging.KeySubject, m.Subject)
		}
		result = "ignored"
	}
	if err == nil {
		h.counts.WithLabelValues(env.Event, result).Inc()
	}
	return err
}

func (h *Handler) created(ctx context.Context, env envelope) (string, error) {
	var d struct {
		PropertyID int64              `json:"property_id"`
		Property   openmoove.Property `json:"property"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.Property.TransactionID == "" {
		return "", failure.PermanentError(errors.New("webhooks: property.created without data.property.transactionId"))
	}
	added, err := h.store.Track(ctx, d.Property.TransactionID, d.PropertyID, poller.SourceWebhook, time.Now())
	if err != nil {
		return "", err
	}
	if added {
		h.log.Info("tracking property announced by webhook", logging.KeyTx, d.Property.TransactionID, "property_id", d.PropertyID)
		return "tracked", nil
	}
	return "already_tracked", nil
}

func (h *Handler) updated(ctx context.Context, env envelope) (string, error) {
	var d struct {
		PropertyID int64 `json:"property_id"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.PropertyID == 0 {
		return "", failure.PermanentError(errors.New("webhooks: property.updated without data.property_id"))
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

func (h *Handler) milestone(ctx context.Context, env envelope) (string, error) {
	var d milestoneData
	if err := json.Unmarshal(env.Data, &d); err != nil || d.PropertyID == 0 || d.Milestone.ID == 0 {
		return "", failure.PermanentError(errors.New("webhooks: milestone webhook without data.property_id and data.milestone.id"))
	}
	m := poller.Milestone{ID: d.Milestone.ID, Name: d.Milestone.Name, Completed: d.Milestone.Completed,
		DueDate: d.Milestone.DueDate.UTC()}
	if m.Completed && d.Milestone.CompletedDate != nil {
		at := d.Milestone.CompletedDate.UTC()
		m.CompletedAt = &at
	}
	t, tx, err := h.resolve(ctx, d.PropertyID)
	if err != nil {
		return "", err
	}
	result, err := h.announce(ctx, env.Event, t, tx, d.PropertyID, m)
	if err != nil {
		return "", err
	}
	if err := milestones.UpdateCache(ctx, h.cache, tx, m.ID, m.Name, m.Completed); err != nil {
		return "", err
	}
	return result, nil
}

// resolve finds the transaction of a numeric property id: tracked, or one
// API read.
func (h *Handler) resolve(ctx context.Context, pid int64) (*poller.Tracked, string, error) {
	t, err := h.store.ByPropertyID(ctx, pid)
	if err == nil {
		return t, t.TransactionID, nil
	}
	if !errors.Is(err, poller.ErrNotTracked) {
		return nil, "", err
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
