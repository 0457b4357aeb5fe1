package system

import "github.com/openmoove/omq/internal/ingest"

// roles lists every role omq run can start, in start order. Packages add
// theirs here.
var roles = []Role{
	{Name: "ingest", Description: "HTTP ingest: POST /v1/events and /v1/properties (off without --ingest-token)", New: func(d *Deps) ([]Component, error) {
		_, err := ingest.Register(d.Mux, ingest.Options{Token: d.Config.IngestToken, MaxBytes: d.Config.IngestMaxBytes, JS: d.JS, Topology: d.Topology, Logger: d.Logger, Metrics: d.Metrics})
		return nil, err
	}},
}

// Roles returns the names and descriptions of every role.
func Roles() []Role { return append([]Role(nil), roles...) }
