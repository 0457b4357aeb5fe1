package monitor

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/openmoove/omq/internal/poller"
)

// Property states in a report.
const (
	StateOnTrack   = "on_track"
	StateAtRisk    = "at_risk"
	StateOverdue   = "overdue"
	StateNotPolled = "not_polled"
)

// PropertyReport is the analysis of one property.
type PropertyReport struct {
	TransactionID string    `json:"transaction_id"`
	PropertyID    int64     `json:"property_id,omitempty"`
	Address       string    `json:"address,omitempty"`
	State         string    `json:"state"`
	Milestones    int       `json:"milestones"`
	Completed     int       `json:"completed"`
	CompletionPct float64   `json:"completion_pct"`
	Current       string    `json:"current_milestone,omitempty"`
	CurrentDue    time.Time `json:"current_due,omitzero"`
	Overdue       int       `json:"overdue"`
	AtRisk        int       `json:"at_risk"`
	PolledAt      time.Time `json:"polled_at,omitzero"`
}

// Report is the portfolio.
type Report struct {
	At         time.Time        `json:"at"`
	Properties []PropertyReport `json:"properties"`
	OnTrack    int              `json:"on_track"`
	AtRisk     int              `json:"at_risk"`
	Overdue    int              `json:"overdue"`
	NotPolled  int              `json:"not_polled"`
}

// Analyze reports on one tracked property as of now; an open milestone due
// within window is at risk.
func Analyze(t *poller.Tracked, now time.Time, window time.Duration) PropertyReport {
	r := PropertyReport{TransactionID: t.TransactionID, PropertyID: t.PropertyID, State: StateNotPolled}
	s := t.Snapshot
	if s == nil {
		return r
	}
	r.Address, r.PolledAt, r.Milestones = s.Address, s.PolledAt, len(s.Milestones)
	for _, m := range s.Milestones {
		switch {
		case m.Completed:
			r.Completed++
			continue
		case m.Overdue(now):
			r.Overdue++
		case m.DueWithin(now, window):
			r.AtRisk++
		}
		if r.Current == "" {
			r.Current, r.CurrentDue = m.Name, m.DueDate
		}
	}
	if r.Milestones > 0 {
		r.CompletionPct = float64(r.Completed) * 100 / float64(r.Milestones)
	}
	switch {
	case r.Overdue > 0:
		r.State = StateOverdue
	case r.AtRisk > 0:
		r.State = StateAtRisk
	default:
		r.State = StateOnTrack
	}
	return r
}

// Portfolio analyses every tracked property, worst first.
func Portfolio(ts []*poller.Tracked, now time.Time, window time.Duration) Report {
	rep := Report{At: now, Properties: []PropertyReport{}}
	for _, t := range ts {
		r := Analyze(t, now, window)
		switch r.State {
		case StateOverdue:
			rep.Overdue++
		case StateAtRisk:
			rep.AtRisk++
		case StateOnTrack:
			rep.OnTrack++
		default:
			rep.NotPolled++
		}
		rep.Properties = append(rep.Properties, r)
	}
	rank := map[string]int{StateOverdue: 0, StateAtRisk: 1, StateOnTrack: 2, StateNotPolled: 3}
	slices.SortFunc(rep.Properties, func(a, b PropertyReport) int {
		return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]), cmp.Compare(b.Overdue, a.Overdue),
			cmp.Compare(a.Address, b.Address), cmp.Compare(a.TransactionID, b.TransactionID))
	})
	return rep
}

// WriteTable prints the report for a person: one row per property, then
// the totals.
func (rep Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tTRANSACTION\tADDRESS\tDONE\tCURRENT MILESTONE\tDUE\tOVERDUE\tAT RISK")
	for _, p := range rep.Properties {
		due := "-"
		if !p.CurrentDue.IsZero() {
			due = p.CurrentDue.Format("2006-01-02")
		}
		cur := p.Current
		if cur == "" {
			cur = "-"
		}
		done := fmt.Sprintf("%.0f%%", p.CompletionPct)
		if p.State == StateNotPolled {
			done, cur = "-", "(not polled yet)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", p.State, p.TransactionID, orDash(p.Address), done, cur, due, p.Overdue, p.AtRisk)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d properties: %d on track, %d at risk, %d overdue, %d not polled yet (as of %s)\n",
		len(rep.Properties), rep.OnTrack, rep.AtRisk, rep.Overdue, rep.NotPolled, rep.At.UTC().Format(time.RFC3339))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
