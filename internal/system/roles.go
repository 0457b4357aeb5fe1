package system

import (
	"context"

	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

// roles lists every role omq run can start, in start order. Packages add
// theirs here.
var roles = []Role{
	{Name: "ingest", Description: "HTTP ingest: POST /v1/events and /v1/properties (off without --ingest-token)", New: func(d *Deps) ([]Component, error) {
		_, err := ingest.Register(d.Mux, ingest.Options{Token: d.Config.IngestToken, MaxBytes: d.Config.IngestMaxBytes, JS: d.JS, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
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
}

// Roles returns the names and descriptions of every role.
func Roles() []Role { return append([]Role(nil), roles...) }
