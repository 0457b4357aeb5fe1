package workers

import (
	"context"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Three runtimes on three connections share one budget: the API never
// answers 429 and every full window is used to at least 90%.
func TestThreeRuntimesShareTheBudget(t *testing.T) {
	t.Parallel()
	const limit, window, backlog = 20, time.Second, 70
	b := setup(t, sandbox.Config{RateLimit: limit, BurstLimit: limit, RateWindow: window, BurstWindow: window}, natstest.Listen())
	var created atomic.Int32
	b.publish(t, "budget", backlog)
	for range 3 {
		nc, err := nats.Connect(b.nats.URL, b.nats.ClientOptions()...)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		bud, err := budget.New(t.Context(), js, b.top, budget.Limits{PerHour: limit, PerMinute: limit, Hour: window, Minute: window})
		require.NoError(t, err)
		client, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: b.sb.URL(), APIKey: testKey}))
		require.NoError(t, err)
		t.Cleanup(client.CloseIdleConnections)
		cfg := b.fastConfig("budget", func(ctx context.Context, m *Message) error {
			if _, err := client.CreateClient(ctx, testkit.CreateRequest()); err != nil {
				return err
			}
			created.Add(1)
			return nil
		})
		cfg.MaxDeliver = 50 // hand-backs for the budget are deliveries too
		// "One call per message" holds only if no call outlives its
		// handler's deadline (90% of AckWait) and is tried again; 2s was
		// too short on a loaded machine (72 calls for 70 messages).
		cfg.AckWait = 15 * time.Second
		w, err := New(js, cfg)
		require.NoError(t, err)
		require.NoError(t, w.Start(t.Context()))
		t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	}
	eventually(t, 20*time.Second, func() bool { return created.Load() == backlog }, "the backlog is done")
	reqs := b.sb.Requests()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	var counts []int
	var start time.Time
	for _, r := range reqs {
		require.NotEqual(t, 429, r.Status, "the budget kept every replica under the limit")
		// The sandbox's fixed windows open at the first call after the last
		// one ended; rebuild them from the journal.
		if start.IsZero() || !r.At.Before(start.Add(window)) {
			start = r.At
			counts = append(counts, 0)
		}
		counts[len(counts)-1]++
	}
	require.Len(t, reqs, backlog, "one call per message")
	t.Logf("calls per window: %v", counts)
	for i, c := range counts[:len(counts)-1] {
		require.GreaterOrEqual(t, float64(c), 0.9*limit, "window %d used %d of %d", i, c, limit)
	}
}
