package poller_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/poller"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	done := t0.Add(time.Hour)
	old := &poller.Snapshot{PolledAt: t0, Status: "For sale", Participants: []string{"Seller|a@x"},
		Milestones: []poller.Milestone{{ID: 1, Name: "Instruction", Completed: true, CompletedAt: &done}, {ID: 2, Name: "Legal Pack Preparation"}}}
	cur := &poller.Snapshot{PolledAt: t0.Add(time.Minute), Status: "Sold STC", Participants: []string{"Buyer|b@x", "Seller|a@x"},
		Milestones: []poller.Milestone{{ID: 1, Name: "Instruction"}, {ID: 2, Name: "Legal Pack Preparation", Completed: true, CompletedAt: &done},
			{ID: 3, Name: "Survey"}}}
	require.Empty(t, poller.Diff("tx", 7, nil, cur, t0), "a first poll announces nothing")
	require.Empty(t, poller.Diff("tx", 7, cur, cur, t0), "no change, no outcome")
	kinds := map[string]int{}
	ids := map[string]bool{}
	for _, o := range poller.Diff("tx", 7, old, cur, t0) {
		kinds[o.Kind]++
		ids[o.ID] = true
		require.Equal(t, "tx", o.TransactionID)
		require.EqualValues(t, 7, o.PropertyID)
		switch o.Kind {
		case poller.OutcomeStatusChanged:
			require.Equal(t, "Sold STC", o.Data["new"])
		case poller.OutcomeParticipantChanged:
			require.Equal(t, []string{"Buyer|b@x"}, o.Data["added"])
		case poller.OutcomeMilestoneReopened:
			require.EqualValues(t, 1, o.Data["milestone_id"])
			require.Equal(t, done, o.Data["was_completed_at"])
		}
	}
	require.Equal(t, map[string]int{poller.OutcomeStatusChanged: 1, poller.OutcomeParticipantChanged: 1,
		poller.OutcomeMilestoneAdded: 1, poller.OutcomeMilestoneCompleted: 1, poller.OutcomeMilestoneReopened: 1}, kinds)
	require.Len(t, ids, 5)
	again := poller.Diff("tx", 7, old, cur, t0.Add(time.Hour))
	for _, o := range again {
		require.True(t, ids[o.ID], "a retry of the same diff publishes the same ids: %s", o.ID)
	}
}
