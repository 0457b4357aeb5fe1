package system

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/internal/status"
)

func (s *System) routes() {
	s.deps.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// A connection nats.go has closed for good (the server closed it
		// and it will not reconnect) never heals: say so, so the process
		// supervisor restarts omq instead of leaving it idle.
		if s.deps.Conn.IsClosed() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "dead", "reason": "the NATS connection is closed for good; restart omq"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	s.deps.Mux.HandleFunc("GET /readyz", s.readyz)
	s.deps.Mux.HandleFunc("GET /status", s.status)
	s.deps.Mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{Registry: s.deps.Metrics}))
}

// readyz answers 200 only when NATS is connected, every stream exists and
// every role has started; otherwise 503 with each reason.
func (s *System) readyz(w http.ResponseWriter, r *http.Request) {
	reasons := s.notReady(r.Context())
	if len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": reasons})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *System) notReady(ctx context.Context) []string {
	var reasons []string
	if st := s.deps.Conn.Status(); st != nats.CONNECTED {
		reasons = append(reasons, "NATS is "+strings.ToLower(st.String())+"; omq reconnects by itself (check that the NATS servers are up and reachable)")
		return reasons
	}
	if err, since := s.deps.Store.Refused(); err != nil {
		reasons = append(reasons, status.StoreRefused(err, since).Text)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if st, err := status.ReadStreams(ctx, s.deps.JS, s.deps.Topology); err != nil {
		reasons = append(reasons, fmt.Sprintf("cannot read streams: %v", err))
	} else {
		reasons = append(reasons, st.NotReady()...)
	}
	if !s.ready.Load() {
		reasons = append(reasons, "workers not started")
	}
	return reasons
}

// status serves the status model (omq status --json): 200 whatever the
// state, since degraded is not down; 503 only when NATS cannot be read.
func (s *System) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	c := s.deps.Config
	st, err := status.Read(ctx, s.deps.JS, status.Options{Topology: s.deps.Topology, StuckAfter: c.StuckAfter,
		Budget: budget.Limits{PerHour: c.BudgetPerHour, PerMinute: c.BudgetPerMinute}})
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"state": "unknown", "reason": "cannot read NATS: " + natserr.Explain(err).Error()})
		return
	}
	if err, since := s.deps.Store.Refused(); err != nil {
		st.AddReason(status.StoreRefused(err, since))
	}
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // reasons read as written, < and > included
	_ = enc.Encode(v)
}
