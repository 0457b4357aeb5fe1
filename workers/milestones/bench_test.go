package milestones_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
)

// TestAPICallsPerEvent is the acceptance benchmark: 100 transactions × the
// five event types, each sent again with the same id and again with a new
// id (1,500 publishes). The minimum the work allows is one milestones read
// per transaction plus one update per milestone completed (the outcome's
// address costs no read); omq must stay within 1.1× of it. BenchmarkAPICallsPerEvent
// reports the same figure as a metric.
func TestAPICallsPerEvent(t *testing.T) {
	t.Parallel()
	calls, minimum := apiCallsRun(t, 100)
	ratio := float64(calls) / float64(minimum)
	t.Logf("1500 publishes: %d API calls, minimum %d, ratio %.3f", calls, minimum, ratio)
	require.LessOrEqual(t, ratio, 1.1)
}

func BenchmarkAPICallsPerEvent(b *testing.B) {
	for b.Loop() {
		calls, minimum := apiCallsRun(b, 100)
		b.ReportMetric(float64(calls)/float64(minimum), "calls/minimum")
		b.ReportMetric(float64(calls)/1500, "calls/publish")
	}
}

func apiCallsRun(t testing.TB, n int) (calls, minimum int) {
	b := setup(t, opts{})
	txs := make([]string, n)
	for i := range txs {
		txs[i] = b.property(t, "standard")
	}
	b.sb.ResetRequests()
	for round, suffix := range []string{"", "", "-again"} {
		for i, tx := range txs {
			for _, typ := range events.Types() {
				id := fmt.Sprintf("t%d-%s%s", i, typ, suffix)
				b.event(t, events.Event{ID: id, Type: typ, TransactionID: tx, Actor: fmt.Sprint("round-", round)})
			}
		}
	}
	b.idle(t)
	// Every milestone completed once, every completion's outcome published.
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == n*5 }, 20*time.Second, 10*time.Millisecond)
	for _, tx := range txs {
		for _, name := range []string{"Legal Pack Preparation", "Property Marketing", "Offer Acceptance", "Exchange of Contracts", "Completion"} {
			require.True(t, b.completed(t, tx, name), "%s %s", tx, name)
		}
	}
	require.Equal(t, n*5, b.calls(http.MethodPatch, ""))
	return len(b.sb.Requests()), n * (1 + 5)
}
