package sandbox

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// routes mounts the partner API under APIPrefix and the admin API under
// AdminPrefix; anything else answers 404. Every answer's Date is the
// sandbox clock.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(APIPrefix, s.servePartner)
	mux.HandleFunc("/_sandbox/faults", s.adminFaults)
	mux.HandleFunc("/_sandbox/requests", s.adminRequests)
	mux.HandleFunc("/_sandbox/clock", s.adminClock)
	mux.HandleFunc("/_sandbox/milestones/complete", s.adminComplete)
	mux.HandleFunc("/_sandbox/rejects", s.adminRejects)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, detail(detailNotFound))
	})
	return dated(s.Now, mux)
}

// allow answers 405 and returns false when r's method is not one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, detail(`Method "`+r.Method+`" not allowed.`))
	return false
}

// adminFaults: GET returns the faults in force; POST replaces them.
func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodPost {
		var f Faults
		if err := decodeBody(r, &f); err != nil {
			writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, http.StatusBadRequest, detail(err.Error()))
			return
		}
		s.log.Info("sandbox faults set", "outage", f.Outage, "latency_ms", f.LatencyMS,
			"jitter_ms", f.JitterMS, "error_rate", f.ErrorRate, "force_status", f.ForceStatus)
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

// adminRequests: GET lists the journal; DELETE empties it.
func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	reqs := s.Requests()
	if reqs == nil {
		reqs = []Request{}
	}
	writeJSON(w, http.StatusOK, reqs)
}

// adminClock: GET reads the sandbox clock; POST {"advance":"48h"} moves it.
func (s *Server) adminClock(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	now := s.Now()
	if r.Method == http.MethodPost {
		var body struct {
			Advance string `json:"advance"`
		}
		if err := decodeBody(r, &body); err != nil {
			writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
			return
		}
		d, err := time.ParseDuration(body.Advance)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, detail(`advance must be a positive Go duration such as "48h" or "90m"`))
			return
		}
		now = s.AdvanceClock(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": now})
}

// adminComplete completes a milestone by name, as a conveyancer would.
func (s *Server) adminComplete(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	var body struct {
		TransactionID string `json:"transaction_id"`
		Name          string `json:"name"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
		return
	}
	if body.TransactionID == "" || body.Name == "" {
		writeJSON(w, http.StatusBadRequest, detail("transaction_id and name are required"))
		return
	}
	m, err := s.CompleteMilestone(body.TransactionID, body.Name)
	if errors.Is(err, ErrNotFound) {
		writeJSON(w, http.StatusNotFound, detail(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// adminRejects: GET lists the reject rules, POST adds one, DELETE clears them.
func (s *Server) adminRejects(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost, http.MethodDelete) {
		return
	}
	switch r.Method {
	case http.MethodPost:
		var rule Reject
		if err := decodeBody(r, &rule); err != nil {
			writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
			return
		}
		if err := s.AddReject(rule); err != nil {
			writeJSON(w, http.StatusBadRequest, detail(err.Error()))
			return
		}
	case http.MethodDelete:
		s.ClearRejects()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.mu.Lock()
	rules := append([]Reject{}, s.rejects...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, rules)
}
