package system

import (
	"log/slog"
	"time"
)

// WithComponents is a System holding only comps, as if its roles had
// started them, for shutdown tests; grace replaces stopGrace.
func WithComponents(log *slog.Logger, grace time.Duration, comps ...Component) *System {
	return &System{log: log, comps: comps, stopGrace: grace}
}

// CheckAPI is checkAPI, the start-up check of the API URL and key.
var CheckAPI = checkAPI
