package omqtest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
)

// An OpenMoove outage is absorbed: events keep coming while every call
// answers 503, nothing is dead-lettered, and once the API is back every
// milestone is completed, each with one update call.
func TestOutageIsAbsorbed(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	txs := make([]string, 6)
	for i := range txs {
		txs[i] = omq.SeedProperty(t, nil)
	}

	omq.SandboxFaults(t, omqtest.Faults{Outage: true})
	// Each event is published once omq has met the outage again (a call or
	// a breaker probe answered 503), so the events arrive all through it.
	for _, tx := range txs {
		seen := unavailable(omq)
		_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: events.TypeLegalPackCompleted, TransactionID: tx})
		require.NoError(t, err)
		omq.WaitFor(t, "another call answered 503 during the outage", func() bool { return unavailable(omq) > seen })
	}
	for _, tx := range txs {
		m, _ := milestone(omq.Milestones(t, tx), openmoove.MilestoneLegalPack)
		require.False(t, m.Completed, "nothing can be completed while the API is down")
	}
	omq.RequireNoDeadLetters(t)

	omq.SandboxFaults(t, omqtest.Faults{})
	for _, tx := range txs {
		omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneLegalPack)
		// The outcome follows the update call; wait for it too.
		omq.RequireOutcome(t, events.OutcomeMilestoneCompleted, func(o events.Outcome) bool { return o.TransactionID == tx })
	}
	omq.RequireNoDeadLetters(t)
	require.Len(t, omq.Outcomes(t, events.OutcomeMilestoneCompleted), len(txs))
	updates := 0
	for _, c := range omq.APICalls() {
		if c.Method == http.MethodPatch && c.Status == http.StatusOK {
			updates++
		}
	}
	require.Equal(t, len(txs), updates, "one successful update per milestone")
}

func unavailable(omq *omqtest.System) int {
	n := 0
	for _, c := range omq.APICalls() {
		if c.Status == http.StatusServiceUnavailable {
			n++
		}
	}
	return n
}

func milestone(ms []openmoove.Milestone, name string) (openmoove.Milestone, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return openmoove.Milestone{}, false
}
