package properties

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// DefaultProducts are given to a creation that names none.
var DefaultProducts = []string{openmoove.ProductMooveReadyPack}

// AuctionMilestones are the milestones an auction property must get; a
// missing one raises alert.auction_milestones_missing.
var AuctionMilestones = []string{
	openmoove.MilestoneLegalPack, openmoove.MilestoneAuctionMarket,
	openmoove.MilestoneAuctionExchange, openmoove.MilestoneCompletion,
}

// Config configures a Creator.
type Config struct {
	// API creates the properties. Required.
	API *openmoove.Client
	// JS holds the LEDGER bucket and receives the outcomes. Required.
	JS jetstream.JetStream
	// Topology names the bucket and the outcome subjects. Default
	// streams.New("openmoove").
	Topology streams.Topology
	// Assignments is the professional assignment table. Default: none.
	Assignments *assign.Table
	// DefaultEstateAgentEmail is given to a creation that names no
	// professional and gets none from the table. Default: none (the API
	// then refuses it).
	DefaultEstateAgentEmail string
	// Lease is how long a pending entry written by another message is
	// presumed in progress: a second message with the same request_id waits
	// (Transient) until then, and after it reconciles. Default 2×AckWait of
	// the defaults (2×workers.DefaultAckWait), 60s.
	Lease time.Duration
	// ClockSkew widens the window in which reconciliation looks for a
	// property created by a crashed attempt (created_at ≥ pending.At −
	// ClockSkew). Default 5m.
	ClockSkew time.Duration
	// ReconcilePages bounds how many pages of GET /properties/ (100 each,
	// newest first) reconciliation reads. Default 10.
	ReconcilePages int
	// Logger receives the worker's logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// AfterCreate, when set, runs after the API answered 201 and before the
	// ledger records it: the fault-injection point of the crash window. A
	// non-nil error abandons the message there, as a crash would.
	AfterCreate func(ctx context.Context, requestID string) error
}

// WithDefaults returns a copy of c with every unset field given its default.
func (c Config) WithDefaults() Config {
	c.Topology = c.Topology.WithDefaults()
	if c.Lease == 0 {
		c.Lease = 2 * workers.DefaultAckWait
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 5 * time.Minute
	}
	if c.ReconcilePages == 0 {
		c.ReconcilePages = 10
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Creator is the property worker's handler: it turns a queued
// events.CreateProperty into exactly one OpenMoove property.
type Creator struct {
	cfg      Config
	log      *slog.Logger
	ledger   *Ledger
	assigner *assign.Assigner
}

// NewCreator opens the ledger and returns a Creator.
func NewCreator(ctx context.Context, cfg Config) (*Creator, error) {
	cfg = cfg.WithDefaults()
	if cfg.API == nil || cfg.JS == nil {
		return nil, errors.New("properties: Config.API and Config.JS are required")
	}
	l, err := OpenLedger(ctx, cfg.JS, cfg.Topology)
	if err != nil {
		return nil, err
	}
	return &Creator{cfg: cfg, log: cfg.Logger, ledger: l, assigner: assign.NewAssigner(cfg.Assignments, l.KV())}, nil
}

// Ledger returns the creator's ledger.
func (c *Creator) Ledger() *Ledger { return c.ledger }

// RequestID returns the idempotency key of a queued creation: its
// request_id, else the original Nats-Msg-Id (Omq-Original-Msg-Id, or the
// Nats-Msg-Id without a replay's ":replay:<id>" suffix), else
// "<stream>:<seq>".
func RequestID(cp events.CreateProperty, m *workers.Message) string {
	if cp.RequestID != "" {
		return cp.RequestID
	}
	return m.IdempotencyKey()
}

// Handle is the workers.Handler of the property worker.
func (c *Creator) Handle(ctx context.Context, m *workers.Message) error {
	cp, err := events.DecodeCreateProperty(m.Data)
	if err != nil {
		return err // Permanent, with the field errors
	}
	id := RequestID(cp, m)
	if msg := events.CheckRequestID(id); msg != "" {
		// Checked before the id becomes a ledger key: a key of megabytes
		// would make a subject NATS refuses, closing the connection.
		return failure.PermanentError(fmt.Errorf("properties: request_id (or, without one, the Nats-Msg-Id) %q: %s", shorten(id), msg))
	}
	owner := streams.MessageRef(m.Stream, m.Seq)
	log := c.log.With("request_id", id, logging.KeySeq, m.Seq)

	e, rev, err := c.ledger.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNoEntry):
	case err != nil:
		return err
	case e.State == StateCreated:
		log.Debug("already created", logging.KeyTx, e.TransactionID)
		return c.finish(ctx, e, rev)
	case e.State == StatePending:
		return c.resume(ctx, log, e, rev, owner)
	}
	// Absent, or refused before (a replay of a fixed body): start over.
	req := cp.CreateClientRequest
	assigned, err := c.prepare(ctx, &req)
	if err != nil {
		return err
	}
	e = Entry{RequestID: id, State: StatePending, At: c.cfg.Now().UTC(), Owner: owner, Request: &req, Assigned: assigned}
	rev, err = c.ledger.put(ctx, e, rev)
	if err != nil {
		c.release(ctx, log, assigned)
		return err
	}
	return c.create(ctx, log, e, rev)
}

// prepare applies the defaults and the assignment table to req and
// validates the result as the API would.
func (c *Creator) prepare(ctx context.Context, req *openmoove.CreateClientRequest) (map[assign.Role]string, error) {
	if len(req.Products) == 0 {
		req.Products = slices.Clone(DefaultProducts)
	}
	// Validate first so a request the API would refuse whatever omq adds
	// reserves nobody.
	probe := *req
	c.assigner.Table().Prospective(&probe)
	c.defaultAgent(&probe)
	if err := openmoove.ValidateCreate(&probe); err != nil {
		return nil, err
	}
	assigned, err := c.assigner.Assign(ctx, req)
	if err != nil {
		return nil, err
	}
	c.defaultAgent(req)
	if err := openmoove.ValidateCreate(req); err != nil {
		c.release(ctx, c.log, assigned)
		return nil, err
	}
	return assigned, nil
}

func (c *Creator) defaultAgent(req *openmoove.CreateClientRequest) {
	if c.cfg.DefaultEstateAgentEmail == "" {
		return
	}
	for _, r := range assign.Roles {
		if *r.Field(req) != "" {
			return
		}
	}
	req.EstateAgentEmail = c.cfg.DefaultEstateAgentEmail
}

func (c *Creator) release(ctx context.Context, log *slog.Logger, assigned map[assign.Role]string) {
	if err := c.assigner.Release(context.WithoutCancel(ctx), assigned); err != nil {
		log.Warn("could not give back assignment slots", logging.KeyError, err)
	}
}

// resume continues a creation whose pending entry an earlier attempt left.
func (c *Creator) resume(ctx context.Context, log *slog.Logger, e Entry, rev uint64, owner string) error {
	age := c.cfg.Now().Sub(e.At)
	if e.Owner != owner && age < c.cfg.Lease {
		return failure.TransientError(fmt.Errorf("request %s is being created by message %s (%s ago); retrying after it",
			e.RequestID, e.Owner, age.Round(time.Millisecond)))
	}
	if !e.NotCreated {
		found, err := c.reconcile(ctx, e)
		if err != nil {
			return err
		}
		if found != nil {
			log.Warn("found the property an interrupted attempt created; recording it instead of creating another",
				logging.KeyTx, found.TransactionID, "property_id", found.PropertyID)
			return c.record(ctx, e, rev, found.PropertyID, found.TransactionID, true)
		}
	}
	e.At, e.Owner, e.NotCreated = c.cfg.Now().UTC(), owner, false
	rev, err := c.ledger.put(ctx, e, rev)
	if err != nil {
		return err
	}
	return c.create(ctx, log, e, rev)
}

// create calls POST /clients/ for a pending entry.
func (c *Creator) create(ctx context.Context, log *slog.Logger, e Entry, rev uint64) error {
	resp, err := c.cfg.API.CreateClient(ctx, e.Request)
	if err != nil {
		c.failed(ctx, log, e, rev, err)
		return err
	}
	if c.cfg.AfterCreate != nil {
		if err := c.cfg.AfterCreate(ctx, e.RequestID); err != nil {
			return err
		}
	}
	log.Info("property created", logging.KeyTx, resp.Property.TransactionID, "property_id", resp.PropertyID)
	e.Address = resp.Property.PropertyPack.Address.Line1
	return c.record(ctx, e, rev, resp.PropertyID, resp.Property.TransactionID, false)
}

// failed updates the ledger after a failed creation call.
func (c *Creator) failed(ctx context.Context, log *slog.Logger, e Entry, rev uint64, err error) {
	ctx = context.WithoutCancel(ctx)
	switch status := openmoove.StatusOf(err); {
	case errors.Is(err, openmoove.ErrNotSent):
		// omq's budget refused the call: nothing reached the API, so the
		// next attempt need not look for a property before creating.
		e.NotCreated = true
		if _, perr := c.ledger.put(ctx, e, rev); perr != nil {
			log.Debug("could not mark the attempt as not sent", logging.KeyError, perr)
		}
	case status == http.StatusBadRequest:
		// A definite refusal: nothing was created; the slots go back and a
		// replay of a fixed body starts over.
		c.release(ctx, log, e.Assigned)
		e.State, e.At, e.Error, e.Fields, e.Assigned = StateRefused, c.cfg.Now().UTC(), err.Error(), openmoove.FieldErrorsOf(err), nil
		if _, perr := c.ledger.put(ctx, e, rev); perr != nil {
			log.Warn("could not record the refusal", logging.KeyError, perr)
		}
	case status == http.StatusTooManyRequests || status == http.StatusUnauthorized ||
		status == http.StatusForbidden || status == http.StatusServiceUnavailable:
		e.NotCreated = true
		if _, perr := c.ledger.put(ctx, e, rev); perr != nil {
			log.Debug("could not mark the attempt as not created", logging.KeyError, perr)
		}
	}
	// No answer, a timeout, 500, 502, 504: the property may exist; the
	// pending entry stays and the next attempt reconciles.
}

// record marks the entry created, claims the property and finishes.
func (c *Creator) record(ctx context.Context, e Entry, rev uint64, propertyID int64, txID string, reconciled bool) error {
	e.State, e.At, e.PropertyID, e.TransactionID, e.Reconciled = StateCreated, c.cfg.Now().UTC(), propertyID, txID, reconciled
	e.NotCreated, e.Owner = false, ""
	if err := c.ledger.claim(ctx, propertyID, e.RequestID); err != nil {
		return failure.TransientError(fmt.Errorf("claim property %d: %w", propertyID, err))
	}
	if err := c.ledger.index(ctx, txID, e.RequestID); err != nil {
		return failure.TransientError(fmt.Errorf("index transaction %s: %w", txID, err))
	}
	rev, err := c.ledger.put(ctx, e, rev)
	if err != nil {
		return err
	}
	return c.finish(ctx, e, rev)
}

// finish publishes property_created (deduplicated by its id) and, for an
// auction not yet checked, checks its milestones.
func (c *Creator) finish(ctx context.Context, e Entry, rev uint64) error {
	req := e.Request
	if req == nil {
		req = &openmoove.CreateClientRequest{}
	}
	sale := req.SaleMethod
	if sale == "" {
		sale = openmoove.SaleStandard
	}
	data := map[string]any{
		"request_id": e.RequestID, "address": req.PropertyAddress, "postcode": req.PropertyPostcode,
		"sale_method": sale, "reconciled": e.Reconciled,
	}
	if len(e.Assigned) > 0 {
		data["assigned"] = e.Assigned
	}
	_, err := events.PublishOutcome(ctx, c.cfg.JS, c.cfg.Topology, events.Outcome{
		ID: events.OutcomeID(events.OutcomePropertyCreated, e.RequestID), Kind: events.OutcomePropertyCreated,
		TransactionID: e.TransactionID, PropertyID: e.PropertyID, EventID: e.RequestID, Data: data,
	})
	if err != nil {
		return err
	}
	if !openmoove.IsAuction(sale) || e.MilestonesChecked {
		return nil
	}
	if err := c.checkAuction(ctx, e, req); err != nil {
		return err
	}
	e.MilestonesChecked = true
	_, err = c.ledger.put(ctx, e, rev)
	if errors.Is(err, errConflict) {
		return nil // another attempt recorded it first; its check stands
	}
	return err
}

// checkAuction alerts when an auction property lacks an auction milestone.
func (c *Creator) checkAuction(ctx context.Context, e Entry, req *openmoove.CreateClientRequest) error {
	ms, err := c.cfg.API.Milestones(ctx, e.TransactionID)
	if err != nil {
		return err
	}
	var missing []string
	for _, want := range AuctionMilestones {
		if !slices.ContainsFunc(ms, func(m openmoove.Milestone) bool { return m.Name == want }) {
			missing = append(missing, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	c.log.Warn("auction property lacks auction milestones", logging.KeyTx, e.TransactionID, "missing", missing)
	_, err = events.PublishOutcome(ctx, c.cfg.JS, c.cfg.Topology, events.Outcome{
		ID: events.OutcomeID(events.OutcomeAuctionMilestonesMissing, e.RequestID), Kind: events.OutcomeAuctionMilestonesMissing,
		TransactionID: e.TransactionID, PropertyID: e.PropertyID, EventID: e.RequestID,
		Data: map[string]any{"request_id": e.RequestID, "address": req.PropertyAddress, "sale_method": req.SaleMethod, "missing": missing},
	})
	return err
}

// shorten keeps an error about a hostile id readable.
func shorten(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}
