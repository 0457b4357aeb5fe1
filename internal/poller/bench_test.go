package poller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

// Scaled budget: 40 calls per 400 ms window (100 calls a second), the only
// limit (the sandbox's own is off).
const (
	benchPerWindow = 40
	benchWindow    = 400 * time.Millisecond
	benchCreations = 200
	benchTracked   = 60
)

// creationRate queues benchCreations creations, runs the real property
// worker on a client that takes the shared budget, optionally with the
// poller polling benchTracked properties as fast as the budget lets it, and
// returns creations a second and the poller's reads.
func creationRate(b *testing.B, polling bool) (float64, int) {
	ctx := context.Background()
	ns, top := testkit.JetStream(b)
	sb, err := sandbox.New(sandbox.Config{RateLimit: -1})
	require.NoError(b, err)
	require.NoError(b, sb.Start(ctx))
	defer sb.Close(context.Background())
	bud, err := budget.New(ctx, ns.JS, top, budget.Limits{PerHour: 1_000_000, PerMinute: benchPerWindow,
		Hour: 60 * benchWindow, Minute: benchWindow})
	require.NoError(b, err)
	api, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: sb.URL(), APIKey: key}))
	require.NoError(b, err)
	defer api.CloseIdleConnections()

	store, err := poller.OpenStore(ctx, ns.JS, top)
	require.NoError(b, err)
	var p *poller.Poller
	if polling {
		for i := range benchTracked {
			tx, err := sb.SeedProperty(key, openmoove.CreateClientRequest{FirstName: "Ada", LastName: "Lovelace",
				Email: "ada@example.com", PhoneNumber: "+447700900001", PropertyAddress: fmt.Sprintf("%d Poll Street", i),
				PropertyPostcode: "SW1A 1AA", EstateAgentEmail: "agent@example.com"})
			require.NoError(b, err)
			_, err = store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
			require.NoError(b, err)
		}
		// Every property always due: the poller reads as fast as the budget
		// lets it.
		p, err = poller.New(context.Background(), poller.Config{Store: store, API: api, JS: ns.JS, Topology: top,
			Overdue: time.Millisecond, DueSoon: time.Millisecond, Interval: time.Millisecond,
			Tick: 5 * time.Millisecond, Yield: benchWindow / 10,
			BudgetPerHour: 1_000_000, BudgetPerMinute: benchPerWindow, BudgetHour: 60 * benchWindow})
		require.NoError(b, err)
		require.NoError(b, p.Start(ctx))
		defer p.Stop(context.Background())
		// Let polling take hold of the budget before creations arrive.
		time.Sleep(2 * benchWindow)
	}
	seeded := len(sb.Properties())

	pub, err := publisher.New(ns.Conn)
	require.NoError(b, err)
	batch := pub.NewBatch()
	for i := range benchCreations {
		_, err := batch.AddProperty(ctx, events.CreateProperty{RequestID: fmt.Sprintf("bench-%d", i), CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Jane", LastName: fmt.Sprintf("Seller%d", i), Email: fmt.Sprintf("jane%d@example.com", i),
			PhoneNumber: "07700 900123", PropertyAddress: fmt.Sprintf("%d High Street, London", i),
			PropertyPostcode: "SW1A 1AA", EstateAgentEmail: "agent@example.com"}})
		require.NoError(b, err)
	}
	require.Empty(b, batch.Flush(ctx).Failures)
	settings := config.Defaults()
	settings.AckWait, settings.Concurrency = 10*time.Second, 16
	w, err := properties.New(ctx, properties.Options{Worker: settings.Worker(), JS: ns.JS, Topology: top, API: api})
	require.NoError(b, err)
	start := time.Now()
	require.NoError(b, w.Start(ctx))
	defer w.Stop(context.Background())
	for len(sb.Properties()) < seeded+benchCreations {
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	reads := 0
	for _, r := range sb.Requests() {
		if r.Method == "GET" && !r.At.Before(start) && r.At.Before(start.Add(took)) {
			reads++
		}
	}
	return float64(benchCreations) / took.Seconds(), reads
}

// BenchmarkPollingDoesNotStarveCreations compares the creation rate on a
// scaled budget with and without a busy poller.
func BenchmarkPollingDoesNotStarveCreations(b *testing.B) {
	for b.Loop() {
		alone, _ := creationRate(b, false)
		shared, reads := creationRate(b, true)
		b.ReportMetric(alone, "creations/s-alone")
		b.ReportMetric(shared, "creations/s-polling")
		b.ReportMetric(shared/alone, "ratio")
		b.ReportMetric(float64(reads), "poll-reads-during")
	}
}
