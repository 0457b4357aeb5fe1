package console

import (
	"context"
	"net/http"

	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
)

type portfolioData struct {
	Report monitor.Report
	// State filters the rows: "", on_track, at_risk, overdue, …
	State string
	Rows  []monitor.PropertyReport
	Error string
}

// portfolio is omq report as a page: the same snapshots, the same clock
// (OpenMoove's, as the poller measured it), the same --at-risk-within.
func (s *Server) portfolio(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	d := portfolioData{State: r.URL.Query().Get("state")}
	rep, err := s.readPortfolio(ctx)
	if err != nil {
		d.Error = err.Error()
	}
	d.Report = rep
	for _, p := range rep.Properties {
		if d.State == "" || p.State == d.State {
			d.Rows = append(d.Rows, p)
		}
	}
	s.render(w, r, "portfolio", d)
}

func (s *Server) readPortfolio(ctx context.Context) (monitor.Report, error) {
	store, err := poller.OpenStore(ctx, s.opts.JS, s.opts.Topology)
	if err != nil {
		return monitor.Report{}, err
	}
	all, err := store.List(ctx)
	if err != nil {
		return monitor.Report{}, err
	}
	now := monitor.APINow(all, s.now())
	return monitor.Portfolio(all, now, s.opts.Config.AtRiskWithin), nil
}
