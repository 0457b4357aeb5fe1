package workers

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Three runtimes on three connections share one budget of 20 calls in a
// window that cannot end during the test, and each wants more than the
// whole budget. Together they make exactly 20 calls — the whole budget, not
// one more — and every one of them is refused by the shared count once it
// is spent, whatever the speed of the machine: how full a real-time window
// gets depends on how fast the calls are made, so window fill is measured
// by the drain benchmark (BENCHMARKS.md row 5), not asserted here.
func TestThreeRuntimesShareTheBudget(t *testing.T) {
	t.Parallel()
	const limit, backlog = 20, 70
	// The API's hour is real and also 20 calls: a 21st would be a 429.
	b := setup(t, sandbox.Config{RateLimit: limit, BurstLimit: limit, RateWindow: time.Hour, BurstWindow: time.Hour}, natstest.Listen())
	b.publish(t, "budget", backlog)
	var created atomic.Int32
	var refused [3]atomic.Int32
	workers := make([]*Worker, 3)
	for i := range workers {
		js, client := sharedBudgetClient(t, b, budget.Limits{PerHour: limit, PerMinute: limit, Hour: time.Hour, Minute: time.Hour})
		cfg := b.fastConfig("budget", func(ctx context.Context, m *Message) error {
			_, err := client.CreateClient(ctx, testkit.CreateRequest())
			switch {
			case err == nil:
				created.Add(1)
			case errors.Is(err, budget.ErrSpent):
				refused[i].Add(1)
			default:
				t.Errorf("runtime %d: a call failed for another reason than the budget: %v", i, err)
			}
			return err
		})
		cfg.AckWait = 15 * time.Second // no call outlives its handler's deadline and is made twice
		w, err := New(js, cfg)
		require.NoError(t, err)
		require.NoError(t, w.Start(t.Context()))
		t.Cleanup(func() { _ = w.Stop(context.Background()) }) // if the test ends early
		workers[i] = w
	}
	// Every runtime has been refused: each one saw the other two's spending.
	// A refused runtime holds until the window ends (an hour), so no call
	// can come after this point but from a token already taken.
	eventually(t, time.Minute, func() bool {
		return created.Load() == limit && refused[0].Load() > 0 && refused[1].Load() > 0 && refused[2].Load() > 0
	}, "the budget is spent and all three runtimes were refused")
	for _, w := range workers {
		require.NoError(t, w.Stop(context.Background()))
	}
	reqs := b.sb.Requests()
	for _, r := range reqs {
		require.NotEqual(t, 429, r.Status, "the budget kept every replica under the limit")
	}
	require.Len(t, reqs, limit, "the whole budget was spent and not one call more")
	require.EqualValues(t, limit, created.Load())
	require.Empty(t, b.deadLetters(t), "the 50 waiting for the next window are not failures")
}

// The same three runtimes across windows that do roll (one second, the
// sandbox's and the budget's): the backlog drains window after window with
// no 429 and one call per message. A call whose token was taken late in a
// window can reach the API after the API's window ended, and count in the
// next one; the budget, told so by X-RateLimit-Reset, moves its window and
// keeps its count, so it never over-spends — at the cost of a window, which
// is why this test does not assert how full each window was.
func TestThreeRuntimesDrainAcrossWindows(t *testing.T) {
	t.Parallel()
	const limit, window, backlog = 20, time.Second, 70
	b := setup(t, sandbox.Config{RateLimit: limit, BurstLimit: limit, RateWindow: window, BurstWindow: window}, natstest.Listen())
	var created atomic.Int32
	b.publish(t, "budget", backlog)
	for range 3 {
		js, client := sharedBudgetClient(t, b, budget.Limits{PerHour: limit, PerMinute: limit, Hour: window, Minute: window})
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
	eventually(t, time.Minute, func() bool { return created.Load() == backlog }, "the backlog is done")
	reqs := b.sb.Requests()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	var counts []int
	var start time.Time
	for _, r := range reqs {
		require.NotEqual(t, 429, r.Status, "the budget kept every replica under the limit")
		// The sandbox's fixed windows open at the first call after the last
		// one ended; rebuilt from the journal for the log.
		if start.IsZero() || !r.At.Before(start.Add(window)) {
			start = r.At
			counts = append(counts, 0)
		}
		counts[len(counts)-1]++
	}
	require.Len(t, reqs, backlog, "one call per message")
	t.Logf("calls per window: %v", counts)
}

// sharedBudgetClient connects as a replica of its own would: its own NATS
// connection, the shared budget on it, and an API client spending from it.
func sharedBudgetClient(t *testing.T, b *testBundle, l budget.Limits) (jetstream.JetStream, *openmoove.Client) {
	t.Helper()
	nc, err := nats.Connect(b.nats.URL, b.nats.ClientOptions()...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	bud, err := budget.New(t.Context(), js, b.top, l)
	require.NoError(t, err)
	client, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: b.sb.URL(), APIKey: testKey}))
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	return js, client
}

// When the budget refuses only reads (its last tokens are kept for writes),
// the worker hands that message back and keeps going: the writes behind it
// are made in the same window instead of waiting for the next one.
func TestWritesGoOnWhileReadsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{RateLimit: -1})
	// A window that cannot roll during the test, its reads spent.
	bud, err := budget.New(t.Context(), b.js, b.top, budget.Limits{PerHour: 100, PerMinute: 10, Hour: time.Hour, Minute: time.Hour, ReadReserve: 5})
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, bud.Take(t.Context(), false))
	}
	client, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: b.sb.URL(), APIKey: testKey}))
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	var reads, writes, refused atomic.Int32
	cfg := b.fastConfig("readsonly", func(ctx context.Context, m *Message) error {
		if string(m.Data) == "0" {
			_, err := client.Products(ctx)
			if err == nil {
				reads.Add(1)
			} else if errors.Is(err, failure.ErrReadsOnly) {
				refused.Add(1)
			}
			return err
		}
		if _, err := client.CreateClient(ctx, testkit.CreateRequest()); err != nil {
			return err
		}
		writes.Add(1)
		return nil
	})
	cfg.Concurrency = 1 // the read is handled first, alone: a hold would stop the writes behind it
	b.start(t, cfg)
	b.publish(t, "readsonly", 5)
	eventually(t, 10*time.Second, func() bool { return writes.Load() == 4 }, "the four writes behind the refused read are made")
	require.Positive(t, refused.Load(), "the read was refused")
	require.Zero(t, reads.Load(), "reads stay refused for the rest of the window")
	hour, _, err := bud.Left(t.Context())
	require.NoError(t, err)
	require.Equal(t, 91, hour, "5 reads and 4 writes spent, the refused read spent nothing")
}
