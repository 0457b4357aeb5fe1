package poller

import (
	"slices"
	"strings"
	"time"

	"github.com/openmoove/omq/openmoove"
)

// Snapshot is what a poll saw of a property; the next poll diffs against it.
type Snapshot struct {
	PolledAt time.Time `json:"polled_at"`
	Status   string    `json:"status"`
	Address  string    `json:"address,omitempty"`
	// Participants are "role|email" of every participant, sorted.
	Participants []string    `json:"participants"`
	Milestones   []Milestone `json:"milestones"`
	// Team is the professionals of the property detail, read by the monitor
	// for invitation tracking; TeamAt is when (zero: never read).
	Team   []Member  `json:"team,omitempty"`
	TeamAt time.Time `json:"team_at,omitzero"`
	// ClockOffset is how far the poller's clock (the API's, in omq run) was
	// ahead of the local one at this poll, to the second, so `omq report`
	// judges due dates by OpenMoove's time without calling it.
	ClockOffset time.Duration `json:"clock_offset,omitempty"`
}

// Milestone is a milestone as the snapshot keeps it.
type Milestone struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Order       int        `json:"order"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	DueDate     time.Time  `json:"due_date,omitzero"`
	IsOverdue   bool       `json:"is_overdue,omitempty"`
}

// Member is a professional of the team.
type Member struct {
	Role      string    `json:"role"` // estate_agent, conveyancer, auctioneer
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Status    string    `json:"status"` // invited or active
	InvitedAt time.Time `json:"invited_at,omitzero"`
}

// NewSnapshot builds a snapshot from the API's answers.
func NewSnapshot(p *openmoove.Property, ms []openmoove.Milestone, now time.Time) *Snapshot {
	s := &Snapshot{PolledAt: now, Status: p.Status, Address: p.PropertyPack.Address.Line1,
		Participants: participants(p.Participants), Milestones: make([]Milestone, len(ms))}
	for i, m := range ms {
		s.Milestones[i] = FromAPI(m)
	}
	slices.SortFunc(s.Milestones, func(a, b Milestone) int { return a.Order - b.Order })
	return s
}

// FromAPI converts an API milestone.
func FromAPI(m openmoove.Milestone) Milestone {
	return Milestone{ID: m.ID, Name: m.Name, Order: m.Order, Completed: m.Completed, CompletedAt: utc(m.CompletedAt),
		DueDate: m.DueDate.UTC(), IsOverdue: m.IsOverdue}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func participants(ps []openmoove.Participant) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Role + "|" + strings.ToLower(p.Email)
	}
	slices.Sort(out)
	return out
}

// TeamOf lists the professionals of a property detail.
func TeamOf(t openmoove.Team) []Member {
	var out []Member
	for _, r := range []struct {
		role string
		m    *openmoove.TeamMember
	}{{"estate_agent", t.EstateAgent}, {"conveyancer", t.Conveyancer}, {"auctioneer", t.Auctioneer}} {
		if r.m != nil {
			out = append(out, Member{Role: r.role, Email: r.m.Email, Name: r.m.Name, Status: r.m.Status, InvitedAt: r.m.InvitedAt.UTC()})
		}
	}
	return out
}

// Milestone returns the snapshot's milestone with id, or nil.
func (s *Snapshot) Milestone(id int64) *Milestone {
	for i := range s.Milestones {
		if s.Milestones[i].ID == id {
			return &s.Milestones[i]
		}
	}
	return nil
}

// Overdue reports whether m is open and past due at now: the API's
// is_overdue, or a due date before now.
func (m Milestone) Overdue(now time.Time) bool {
	return !m.Completed && (m.IsOverdue || (!m.DueDate.IsZero() && m.DueDate.Before(now)))
}

// DueWithin reports whether m is open, not overdue, and due within d of now.
func (m Milestone) DueWithin(now time.Time, d time.Duration) bool {
	return !m.Completed && !m.Overdue(now) && !m.DueDate.IsZero() && m.DueDate.Sub(now) <= d
}
