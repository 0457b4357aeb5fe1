package system

import (
	"context"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/webhook"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

// roles lists every role omq run can start, in start order. Packages add
// theirs here.
var roles = []Role{
	{Name: "deadletters", Description: "dead-letter mover: messages whose deliveries ran out move into the DLQ; warns as the DLQ fills", New: func(d *Deps) ([]Component, error) {
		m, err := workers.NewMover(d.JS, workers.MoverConfig{Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
		return []Component{m}, err
	}},
	{Name: "ingest", Description: "HTTP ingest: POST /v1/events and /v1/properties (off without --ingest-token)", New: func(d *Deps) ([]Component, error) {
		table, err := assign.Load(d.Config.Assignments)
		if err != nil {
			return nil, err
		}
		_, err = ingest.Register(d.Mux, ingest.Options{Token: d.Config.IngestToken, MaxBytes: d.Config.IngestMaxBytes, MaxItems: d.Config.IngestMaxItems, JS: d.JS, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics,
			Fill: table.EdgeFill(d.Config.DefaultEstateAgentEmail)})
		return nil, err
	}},
	{Name: "milestones", Description: "milestone worker: events become completed OpenMoove milestones and milestone_completed outcomes", New: func(d *Deps) ([]Component, error) {
		w, _, err := milestones.New(context.Background(), milestones.Options{Config: d.Config, JS: d.JS, API: d.API, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
		if err != nil {
			return nil, err
		}
		return []Component{w}, nil
	}},
	{Name: "properties", Description: "property worker: queued creations become exactly one OpenMoove property per request_id, and property_created outcomes", New: func(d *Deps) ([]Component, error) {
		w, err := properties.NewWorker(properties.Options{Settings: d.Config, JS: d.JS, Topology: d.Topology, API: d.API, Logger: d.Logger, Metrics: d.Metrics})
		if err != nil {
			return nil, err
		}
		return []Component{w}, nil
	}},
	{Name: "webhooks", Description: "webhook receiver (POST /webhooks/openmoove) and worker: milestone changes and new properties pushed by OpenMoove (off without --webhook-secret)", New: func(d *Deps) ([]Component, error) {
		w, err := webhook.FromSettings(context.Background(), d.Config, d.Mux, d.JS, d.Topology, d.API, d.Logger, d.Metrics)
		if w == nil {
			return nil, err
		}
		return []Component{w}, err
	}},
	{Name: "poller", Description: "poller: tracked properties polled at smart intervals on the read share of the budget; status, participant and milestone outcomes", New: func(d *Deps) ([]Component, error) {
		f, p, err := poller.FromSettings(context.Background(), d.Config, d.JS, d.Topology, d.API, d.Logger, d.Metrics)
		if err != nil {
			return nil, err
		}
		return []Component{f, p}, nil
	}},
	{Name: "monitor", Description: "monitor: scheduled portfolio alerts (alert.overdue, alert.at_risk once a day per milestone; alert.invitation_pending)", New: func(d *Deps) ([]Component, error) {
		m, err := monitor.FromSettings(context.Background(), d.Config, d.JS, d.Topology, d.API, d.Logger)
		if err != nil {
			return nil, err
		}
		return []Component{m}, nil
	}},
}

// Roles returns the names and descriptions of every role.
func Roles() []Role { return append([]Role(nil), roles...) }
