package status

import (
	"slices"
	"time"

	"github.com/openmoove/omq/internal/natserr"
)

// StoreRefused is the reason of a NATS that refuses this process's writes
// because its store is full, since since: work cannot move (nothing can be
// queued, acknowledged as done or recorded), so it is Stuck whatever the
// streams say. The streams and buckets a client can read do not show a
// full store; only refused writes do, so the process that met them adds
// this reason (AddReason) to the model it serves.
func StoreRefused(err error, since time.Time) Reason {
	return Reason{State: Stuck, Part: "nats",
		Text: "NATS refuses writes since " + clock(since) + ": its JetStream store is full (" + err.Error() + "); " + natserr.FullHint}
}

// AddReason adds r to an assessed model, keeping the reasons worst first
// and the state the worst of them.
func (s *Status) AddReason(r Reason) {
	s.Reasons = append(s.Reasons, r)
	slices.SortStableFunc(s.Reasons, func(a, b Reason) int { return b.State.rank() - a.State.rank() })
	if r.State.rank() > s.State.rank() {
		s.State = r.State
	}
}
