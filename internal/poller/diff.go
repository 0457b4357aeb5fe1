package poller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/openmoove/omq/events"
)

// Outcome kinds the poller (and the webhook worker, for milestones)
// publishes.
const (
	OutcomeStatusChanged      = "status_changed"
	OutcomeParticipantChanged = "participant_changed"
	OutcomeMilestoneAdded     = "milestone_added"
	OutcomeMilestoneCompleted = events.OutcomeMilestoneCompleted
	OutcomeMilestoneReopened  = "milestone_reopened"
)

// Sources of an observed change, in the outcome's data.source.
const (
	ViaPoll    = "poll"
	ViaWebhook = "webhook"
)

// MilestoneOutcome is the outcome of a milestone seen completed or
// reopened, by a poll or a webhook alike. Its id depends only on the fact
// (transaction, milestone, and the completion time — for a reopening, the
// completion it undid), never on the path that saw it, so downstream
// systems (and the outcomes stream's duplicate window) drop the second
// report of one fact: "milestone_completed:<tx>:<milestone id>:<completed_at
// RFC 3339>". prev is the completion a reopening undid (nil if unknown).
func MilestoneOutcome(tx string, pid int64, address string, m Milestone, prev *time.Time, via string, now time.Time) events.Outcome {
	kind, at := OutcomeMilestoneCompleted, m.CompletedAt
	if !m.Completed {
		kind, at = OutcomeMilestoneReopened, prev
	}
	stamp := "unknown"
	if at != nil {
		stamp = at.UTC().Format(time.RFC3339Nano)
	}
	data := map[string]any{"milestone": m.Name, "milestone_id": m.ID, "source": via}
	if address != "" {
		data["address"] = address
	}
	if m.CompletedAt != nil {
		data["completed_at"] = m.CompletedAt.UTC()
	}
	if !m.Completed && prev != nil {
		data["was_completed_at"] = prev.UTC()
	}
	return events.Outcome{ID: events.OutcomeID(kind, fmt.Sprintf("%s:%d:%s", tx, m.ID, stamp)), Kind: kind,
		OccurredAt: now, TransactionID: tx, PropertyID: pid, Data: data}
}

// Diff returns the outcomes of what changed from old to cur: status,
// participants, milestones added, completed and reopened. A nil old is a
// first poll: nothing is announced.
func Diff(tx string, pid int64, old, cur *Snapshot, now time.Time) []events.Outcome {
	if old == nil {
		return nil
	}
	var out []events.Outcome
	// The baseline's poll time keys status and participant changes: a retry
	// after a crash diffs against the same baseline (same ids), a later flip
	// back and forth against another.
	since := old.PolledAt.UTC().Format(time.RFC3339Nano)
	add := func(kind, key string, data map[string]any) {
		out = append(out, events.Outcome{ID: events.OutcomeID(kind, tx+":"+key), Kind: kind, OccurredAt: now,
			TransactionID: tx, PropertyID: pid, Data: data})
	}
	if old.Status != cur.Status {
		add(OutcomeStatusChanged, short(old.Status+"\x00"+cur.Status+"\x00"+since),
			map[string]any{"old": old.Status, "new": cur.Status, "address": cur.Address, "source": ViaPoll})
	}
	if strings.Join(old.Participants, ",") != strings.Join(cur.Participants, ",") {
		add(OutcomeParticipantChanged, short(strings.Join(old.Participants, ",")+"\x00"+strings.Join(cur.Participants, ",")+"\x00"+since),
			map[string]any{"old_count": len(old.Participants), "new_count": len(cur.Participants),
				"added": minus(cur.Participants, old.Participants), "removed": minus(old.Participants, cur.Participants),
				"address": cur.Address, "source": ViaPoll})
	}
	for _, m := range cur.Milestones {
		o := old.Milestone(m.ID)
		if o == nil {
			add(OutcomeMilestoneAdded, fmt.Sprint(m.ID), map[string]any{"milestone": m.Name, "milestone_id": m.ID,
				"due_date": m.DueDate, "address": cur.Address, "source": ViaPoll})
			if !m.Completed {
				continue
			}
		} else if o.Completed == m.Completed {
			continue
		}
		var prev *time.Time
		if o != nil {
			prev = o.CompletedAt
		}
		out = append(out, MilestoneOutcome(tx, pid, cur.Address, m, prev, ViaPoll, now))
	}
	return out
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func minus(a, b []string) []string {
	seen := map[string]bool{}
	for _, x := range b {
		seen[x] = true
	}
	out := []string{}
	for _, x := range a {
		if !seen[x] {
			out = append(out, x)
		}
	}
	return out
}
