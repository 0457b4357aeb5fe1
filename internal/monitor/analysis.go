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
	// StateGone is a property OpenMoove answered 404 for on its last poll:
	// its snapshot is history, not work to chase.
	StateGone = "gone"
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
	GoneSince     time.Time `json:"gone_since,omitzero"`
}

// Report is the portfolio.
type Report struct {
	At         time.Time        `json:"at"`
	Properties []PropertyReport `json:"properties"`
	OnTrack    int              `json:"on_track"`
	AtRisk     int              `json:"at_risk"`
	Overdue    int              `json:"overdue"`
	NotPolled  int              `json:"not_polled"`
	Gone       int              `json:"gone"`
}

// Analyze reports on one tracked property as of now; an open milestone due
// within window is at risk.
func Analyze(t *poller.Tracked, now time.Time, window time.Duration) PropertyReport {
	r := PropertyReport{TransactionID: t.TransactionID, PropertyID: t.PropertyID, State: StateNotPolled}
	s := t.Snapshot
	if !t.GoneSince.IsZero() {
		r.State, r.GoneSince = StateGone, t.GoneSince
		if s != nil {
			r.Address, r.PolledAt = s.Address, s.PolledAt
		}
		return r
	}
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
		case StateGone:
			rep.Gone++
		default:
			rep.NotPolled++
		}
		rep.Properties = append(rep.Properties, r)
	}
	rank := map[string]int{StateOverdue: 0, StateAtRisk: 1, StateOnTrack: 2, StateNotPolled: 3, StateGone: 4}
	slices.SortFunc(rep.Properties, func(a, b PropertyReport) int {
		return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]), cmp.Compare(b.Overdue, a.Overdue),
			cmp.Compare(a.Address, b.Address), cmp.Compare(a.TransactionID, b.TransactionID))
	})
	return rep
}

// WriteTable prints the report for a person: one row per property, then
// the totals; with no property, what to do instead.
func (rep Report) WriteTable(w io.Writer) error {
	if len(rep.Properties) == 0 {
		_, err := fmt.Fprintln(w, "no tracked properties: omq follows those it creates; add others with omq track <transaction id>")
		return err
	}
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
		switch p.State {
		case StateNotPolled:
			done, cur = "-", "(not polled yet)"
		case StateGone:
			done, cur, due = "-", "(gone from OpenMoove since "+p.GoneSince.UTC().Format("2006-01-02")+")", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", p.State, p.TransactionID, orDash(p.Address), done, cur, due, p.Overdue, p.AtRisk)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	gone := ""
	if rep.Gone > 0 {
		gone = fmt.Sprintf(", %d gone from OpenMoove", rep.Gone)
	}
	if _, err := fmt.Fprintf(w, "\n%s: %d on track, %d at risk, %d overdue, %d not polled yet%s (as of %s)\n",
		plural(len(rep.Properties), "property", "properties"), rep.OnTrack, rep.AtRisk, rep.Overdue, rep.NotPolled, gone,
		rep.At.UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return rep.writeGoneHint(w)
}

// writeGoneHint tells what to do about properties the API no longer has:
// the poller keeps asking (in case it was an outage of theirs), so only a
// person can end it.
func (rep Report) writeGoneHint(w io.Writer) error {
	for _, p := range rep.Properties {
		if p.State == StateGone {
			if _, err := fmt.Fprintf(w, "%s: OpenMoove answers 404 for it; if it was deleted there, stop following it: omq untrack %s\n",
				p.TransactionID, p.TransactionID); err != nil {
				return err
			}
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
