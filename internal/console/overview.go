package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/openmoove/omq/internal/status"
	"github.com/openmoove/omq/workers"
)

// readTimeout bounds one read of the status model for a page.
const readTimeout = 10 * time.Second

type overviewData struct {
	Status   *status.Status
	Breakers []status.BreakerRow
	Rates    []rateRow
	CanProbe bool
	// Flash is the result of the action just taken.
	Flash    string
	FlashBad bool
	Error    string
}

func (s *Server) overviewData(ctx context.Context) overviewData {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	d := overviewData{CanProbe: s.opts.Probe != nil, Rates: s.samples.rates(s.now())}
	st, err := status.Read(ctx, s.opts.JS, s.statusOptions())
	if err != nil {
		d.Error = "cannot read the status from NATS: " + err.Error()
		return d
	}
	d.Status, d.Breakers = st, st.BreakerRows()
	return d
}

// overview is the whole page; its live part reloads itself (overviewLive).
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "overview", s.overviewData(r.Context()))
}

// overviewLive is the overview's live part alone, which htmx swaps in
// every few seconds.
func (s *Server) overviewLive(w http.ResponseWriter, r *http.Request) {
	s.renderPart(w, r, "overview", "live", s.overviewData(r.Context()))
}

// probeNow makes the breaker's probe call now, as omq breaker probe does;
// when the API answers and the worker is paused or its breaker open, it
// resumes it for every replica, as omq breaker resume WORKER does.
func (s *Server) probeNow(w http.ResponseWriter, r *http.Request) {
	worker := r.PathValue("worker")
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout+probeTimeout)
	defer cancel()
	d := s.overviewData(ctx)
	if d.Status == nil {
		s.fail(w, r, http.StatusServiceUnavailable, d.Error)
		return
	}
	i := slices.IndexFunc(d.Breakers, func(b status.BreakerRow) bool { return b.Worker == worker })
	if i < 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no worker %q: the overview lists every worker's breaker", worker))
		return
	}
	if s.opts.Probe == nil {
		s.fail(w, r, http.StatusNotImplemented, "this console has no API to probe (omq console needs --openmoove-url, or the sandbox of omq run at --sandbox-addr)")
		return
	}
	msg, err := s.probeAndResume(ctx, d.Breakers[i])
	if aerr := s.audit(ctx, r, Action{Kind: "breaker.probe", Target: worker, Err: err}); aerr != nil {
		msg += " (the audit trail could not be written: " + aerr.Error() + ")"
	}
	if err != nil {
		msg = err.Error()
	}
	d = s.overviewData(ctx)
	d.Flash, d.FlashBad = msg, err != nil
	s.render(w, r, "overview", d)
}

// probeTimeout bounds the probe: one cheap call, not a wait for the API.
const probeTimeout = 10 * time.Second

func (s *Server) probeAndResume(ctx context.Context, b status.BreakerRow) (string, error) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	where, err := s.opts.Probe(pctx)
	if err != nil {
		return "", fmt.Errorf("the probe of %s failed: %w; nothing changed, the breaker probes again by itself at the end of its pause", where, err)
	}
	took := time.Since(start).Round(time.Millisecond)
	if !b.Open && b.PausedUntil == nil {
		return fmt.Sprintf("probe ok: %s answers (GET /products/ in %s); %s's breaker was closed, nothing to resume", where, took, b.Worker), nil
	}
	if _, err := workers.CloseBreaker(ctx, s.opts.JS, s.opts.Topology, b.Worker, b.Stream); err != nil {
		return "", fmt.Errorf("probe ok, but resuming %s failed: %w", b.Worker, err)
	}
	return fmt.Sprintf("probe ok: %s answers (GET /products/ in %s); %s resumed for every replica", where, took, b.Worker), nil
}
