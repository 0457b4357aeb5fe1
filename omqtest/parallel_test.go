package omqtest_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
)

// Forty tests that each start omq side by side, as a team's suite would:
// no port clash, no shared state, each start well under a second.
func TestManyInParallel(t *testing.T) {
	t.Parallel()
	const n = 40
	starts := make(chan time.Duration, n)
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				begin := time.Now()
				omq := omqtest.Start(t)
				starts <- time.Since(begin)

				tx := omq.SeedProperty(t, nil)
				_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: events.TypeOfferAccepted, TransactionID: tx})
				require.NoError(t, err)
				omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneOfferAcceptance)
			})
		}
	})
	close(starts)
	var worst, sum time.Duration
	for d := range starts {
		worst, sum = max(worst, d), sum+d
	}
	// Start's own cost is BenchmarkStart's figure; here it grows with how
	// many start at once (go test -parallel, GOMAXPROCS by default).
	t.Logf("%d starts, at most %s at a time: mean %s, slowest %s", n, flag.Lookup("test.parallel").Value, sum/n, worst)
}

// BenchmarkStart measures Start alone (every worker, NATS on a TCP port,
// the sandbox, the HTTP listener); the Stop after each is not timed.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		omq := omqtest.Start(b)
		b.StopTimer()
		omq.Stop(b)
		b.StartTimer()
	}
}
