package system

import (
	"context"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
	"github.com/openmoove/omq/workers/webhooks"
)

// roles lists every role omq run can start, in start order. This is the
// one place settings (d.Config) become the options of a role: each role
// package takes its own Options of public types and knows nothing of
// config.Config.
var roles = []Role{
	{Name: "deadletters", Description: "dead-letter mover: messages whose deliveries ran out move into the DLQ; warns as the DLQ fills", New: newMover},
	{Name: "ingest", Description: "HTTP ingest: POST /v1/events and /v1/properties (off without --ingest-token)", New: newIngest},
	{Name: "milestones", Description: "milestone worker: events become completed OpenMoove milestones and milestone_completed outcomes", New: newMilestones, CallsAPI: true},
	{Name: "properties", Description: "property worker: queued creations become exactly one OpenMoove property per request_id, and property_created outcomes", New: newProperties, CallsAPI: true},
	{Name: "webhooks", Description: "webhook receiver (POST /webhooks/openmoove) and worker: milestone changes and new properties pushed by OpenMoove (off without --webhook-secret)", New: newWebhooks, CallsAPI: true},
	{Name: "poller", Description: "poller: tracked properties polled at smart intervals on the read share of the budget; status, participant and milestone outcomes", New: newPoller, CallsAPI: true},
	{Name: "monitor", Description: "monitor: scheduled portfolio alerts (alert.overdue, alert.at_risk once a day per milestone; alert.invitation_pending)", New: newMonitor, CallsAPI: true},
}

// Roles returns the names and descriptions of every role.
func Roles() []Role { return append([]Role(nil), roles...) }

func newMover(_ context.Context, d *Deps) ([]Component, error) {
	m, err := workers.NewMover(d.JS, workers.MoverConfig{Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
	return one(m, err)
}

func newIngest(_ context.Context, d *Deps) ([]Component, error) {
	table, err := assign.Load(d.Config.Assignments)
	if err != nil {
		return nil, err
	}
	_, err = ingest.Register(d.Mux, ingest.Options{Token: d.Config.IngestToken, MaxBytes: d.Config.IngestMaxBytes, MaxItems: d.Config.IngestMaxItems, JS: d.JS, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics,
		Fill: table.EdgeFill(d.Config.DefaultEstateAgentEmail), Store: d.Store})
	return nil, err
}

func newMilestones(ctx context.Context, d *Deps) ([]Component, error) {
	m, err := events.LoadMilestoneMap(d.Config.MilestoneMap)
	if err != nil {
		return nil, err
	}
	w, err := milestones.New(ctx, milestones.Options{Worker: d.Config.Worker(), JS: d.JS, API: d.API, Topology: d.Topology,
		Map: m, Mode: d.Config.MilestoneMode, Address: d.Config.OutcomeAddress, Grace: d.Config.TransactionGrace, Logger: d.Logger, Metrics: d.Metrics})
	return one(w, err)
}

func newProperties(ctx context.Context, d *Deps) ([]Component, error) {
	table, err := assign.Load(d.Config.Assignments)
	if err != nil {
		return nil, err
	}
	w, err := properties.New(ctx, properties.Options{Worker: d.Config.Worker(), JS: d.JS, Topology: d.Topology, API: d.API,
		Assignments: table, DefaultEstateAgentEmail: d.Config.DefaultEstateAgentEmail, Logger: d.Logger, Metrics: d.Metrics})
	return one(w, err)
}

// newWebhooks registers the receiver on the mux and builds the worker that
// applies what it receives; without --webhook-secret the receiver logs that
// webhooks are off and there is no worker.
func newWebhooks(ctx context.Context, d *Deps) ([]Component, error) {
	r, err := webhookreceiver.Register(d.Mux, webhookreceiver.Options{Secrets: d.Config.WebhookSecrets, MaxBytes: int64(d.Config.WebhookMaxBytes), JS: d.JS, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
	if err != nil || r == nil {
		return nil, err
	}
	w, err := webhooks.New(ctx, webhooks.Options{Worker: d.Config.Worker(), JS: d.JS, API: d.API, Topology: d.Topology,
		MaxAge: d.Config.WebhookMaxAge, Logger: d.Logger, Metrics: d.Metrics})
	return one(w, err)
}

// newPoller builds the Follower (tracks every created property) and the
// Poller; the API client takes the shared budget's tokens, and its clock
// (the API's) says which milestones are overdue or due soon.
func newPoller(ctx context.Context, d *Deps) ([]Component, error) {
	store, err := poller.OpenStore(ctx, d.JS, d.Topology)
	if err != nil {
		return nil, err
	}
	c := d.Config
	p, err := poller.New(ctx, poller.Config{Store: store, API: d.API, JS: d.JS, Topology: d.Topology, Overdue: c.PollOverdue, DueSoon: c.PollDueSoon,
		Interval: c.PollInterval, ReadShare: c.PollReadShare, BudgetPerHour: c.BudgetPerHour, BudgetPerMinute: c.BudgetPerMinute, Logger: d.Logger, Metrics: d.Metrics,
		Now: d.API.Now})
	if err != nil {
		return nil, err
	}
	f, err := poller.NewFollower(ctx, poller.FollowerOptions{JS: d.JS, Topology: d.Topology, Store: store, Logger: d.Logger})
	if err != nil {
		return nil, err
	}
	return []Component{f, p}, nil
}

// newMonitor judges due dates and invitations by the API's clock (the Date
// of its answers), as OpenMoove stamps them with it.
func newMonitor(ctx context.Context, d *Deps) ([]Component, error) {
	m, err := monitor.New(ctx, monitor.Config{API: d.API, JS: d.JS, Topology: d.Topology, Every: d.Config.AlertEvery,
		AtRiskWithin: d.Config.AtRiskWithin, InvitationDays: d.Config.InvitationPendingDays, Logger: d.Logger, Now: d.API.Now})
	return one(m, err)
}

// one returns c as the role's only component, or err; a typed nil never
// becomes a non-nil Component.
func one[C Component](c C, err error) ([]Component, error) {
	if err != nil {
		return nil, err
	}
	return []Component{c}, nil
}
