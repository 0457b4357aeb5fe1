package budget_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

// replica is a second Budget on a connection of its own: another replica
// sharing the bucket.
func replica(t *testing.T, s *natstest.Server, l budget.Limits) *budget.Budget {
	t.Helper()
	nc, err := nats.Connect(s.URL, s.ClientOptions()...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	b, err := budget.New(t.Context(), js, streams.New("openmoove"), l)
	require.NoError(t, err)
	return b
}

func lane(l events.Lane, work string) context.Context {
	return budget.WithLane(budget.WithWork(context.Background(), work), l)
}

func TestParseLanes(t *testing.T) {
	t.Parallel()
	l, err := budget.ParseLanes("live-reserve=0.2, floor=0.01")
	require.NoError(t, err)
	require.Equal(t, budget.Lanes{LiveReserve: 0.2, Floor: 0.01}, l)
	l, err = budget.ParseLanes("off")
	require.NoError(t, err)
	require.True(t, l.Off)
	l, err = budget.ParseLanes("floor=0")
	require.NoError(t, err)
	require.Negative(t, l.Floor, "an explicit 0 is none, not the default")
	for _, bad := range []string{"live-reserve=1", "floor=-0.1", "reserve=0.1", "live-reserve", "floor=NaN"} {
		_, err := budget.ParseLanes(bad)
		require.ErrorIs(t, err, budget.ErrInvalidLimits, bad)
		require.ErrorContains(t, err, "live-reserve", bad)
	}
}

// Two replicas share one budget: the bulk lane on one stops at the live
// reserve, live work on the other spends it; once live work waits, bulk
// work yields on the other replica after its floor, and goes on once the
// live work got its token.
func TestLanesHoldAcrossTwoReplicas(t *testing.T) {
	t.Parallel()
	// PerMinute 20: a live reserve of 2, a floor of 1. The windows are long
	// enough that none rolls before the test looks at it, except where it
	// waits for the roll.
	l := budget.Limits{PerHour: 1000, PerMinute: 20, Hour: time.Hour, Minute: 2 * time.Second, ReadReserve: -1}
	a, s := setup(t, l)
	b := replica(t, s, l)
	takeAll := func(bud *budget.Budget, ln events.Lane) (int, error) {
		for n := 0; ; n++ {
			if err := bud.Take(lane(ln, fmt.Sprintf("%s-%d", ln, n)), true); err != nil {
				return n, err
			}
		}
	}
	// Start with a fresh minute window, so the next steps all fall in one.
	require.NoError(t, a.Take(lane(events.LaneLive, "first"), true))
	snap, err := a.Snapshot(t.Context())
	require.NoError(t, err)
	waitPast(t, snap.MinuteReset)

	n, err := takeAll(a, events.LaneBulk)
	require.Equal(t, 18, n, "bulk stops at the live reserve (2 of 20)")
	require.ErrorIs(t, err, budget.ErrLaneYield)
	require.Equal(t, failure.Throttled, failure.KindOf(err), "waiting is never a failure")
	n, err = takeAll(b, events.LaneLive)
	require.Equal(t, 2, n, "live work on the other replica spends the reserve")
	require.ErrorIs(t, err, budget.ErrSpent)
	require.NotErrorIs(t, err, budget.ErrLaneYield, "the window is spent for everyone")
	wait, _ := failure.WaitOf(err)
	require.LessOrEqual(t, wait, l.Minute, "live work waits at most for the minute's reset")

	snap, err = b.Snapshot(t.Context())
	require.NoError(t, err)
	live := snap.Lanes[0]
	require.Equal(t, events.LaneLive, live.Lane)
	require.Equal(t, 1, live.AllWaiting, "every replica sees it waiting")
	require.Equal(t, 1, live.Waiting, "one live message of this replica waits")
	require.Equal(t, 18, snap.Lanes[1].MinuteSpent)
	other, err := a.Snapshot(t.Context())
	require.NoError(t, err)
	require.Equal(t, 0, other.Lanes[0].Waiting, "none of replica a's own")
	require.Equal(t, 1, other.Lanes[0].AllWaiting, "but it sees replica b's")

	// The next window: live work (replica b) is still waiting, so bulk on
	// replica a gets its floor and then yields, with tokens left.
	waitPast(t, snap.MinuteReset)
	n, err = takeAll(a, events.LaneBulk)
	require.Equal(t, 1, n, "bulk spends only its floor while live work waits elsewhere")
	require.ErrorIs(t, err, budget.ErrLaneYield)
	require.NoError(t, b.Take(lane(events.LaneLive, "live-2"), true), "the waiting live message gets its token")
	n, _ = takeAll(a, events.LaneBulk)
	require.Equal(t, 16, n, "with no live work waiting, bulk goes on down to the reserve (20 - 2 - its floor - the live token)")
}

// With no live traffic the bulk lane spends the whole window: the live
// reserve opens in the window's last tenth.
func TestBulkWithoutLiveTrafficUsesTheWholeBudget(t *testing.T) {
	t.Parallel()
	const limit = 50
	l := budget.Limits{PerHour: limit, PerMinute: limit, Hour: 3 * time.Second, Minute: 3 * time.Second, ReadReserve: -1}
	b, _ := setup(t, l)
	n, yields := 0, 0
	for {
		err := b.Take(lane(events.LaneBulk, fmt.Sprint(n)), true)
		if err == nil {
			n++
			continue
		}
		if !errors.Is(err, budget.ErrLaneYield) {
			require.ErrorIs(t, err, budget.ErrSpent)
			break // the window is spent
		}
		yields++
		wait, _ := failure.WaitOf(err)
		time.Sleep(wait) // what the runtime's hand-back does
	}
	require.Equal(t, limit, n, "bulk spent every token of the window")
	require.Equal(t, 1, yields, "it waited once, for the reserve to open")
}

// A replay of 500 dead letters on one replica and live events on another,
// each live event taking two tokens at a random moment: no live event is
// told to wait longer than a minute window in all, and the replay finishes.
func TestReplayNeverDelaysLiveWorkBeyondAMinuteWindow(t *testing.T) {
	t.Parallel()
	// 300 an hour, 100 a minute: the replay runs the hour down to its
	// reserve (30) within three minute windows and waits for the last one.
	l := budget.Limits{PerHour: 300, PerMinute: 100, Hour: 3 * time.Second, Minute: 100 * time.Millisecond, ReadReserve: -1}
	a, s := setup(t, l)
	b := replica(t, s, l)
	ctx := t.Context()
	var replayed atomic.Int32
	var wg sync.WaitGroup
	const replay, takers = 500, 4
	for k := range takers {
		wg.Go(func() {
			for i := k; i < replay; i += takers {
				for {
					err := a.Take(lane(events.LaneReplay, fmt.Sprint(i)), true)
					if err == nil {
						replayed.Add(1)
						break
					}
					wait, ok := failure.WaitOf(err)
					require.True(t, ok, "%v", err)
					if !sleepCtx(ctx, wait) {
						return
					}
				}
			}
		})
	}
	waits := make([]time.Duration, 10)
	for e := range waits {
		sleepCtx(ctx, time.Duration(rand.Int64N(int64(l.Hour/4))))
		for call := range 2 {
			for {
				err := b.Take(lane(events.LaneLive, fmt.Sprintf("live-%d-%d", e, call)), call == 1)
				if err == nil {
					break
				}
				wait, ok := failure.WaitOf(err)
				require.True(t, ok, "%v", err)
				waits[e] += wait
				sleepCtx(ctx, wait)
			}
		}
	}
	wg.Wait()
	require.EqualValues(t, replay, replayed.Load())
	t.Logf("live waits: %v", waits)
	for e, w := range waits {
		require.LessOrEqual(t, w, l.Minute, "live event %d was told to wait %s in all", e, w)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitPast returns once t has passed: a window's reset.
func waitPast(t *testing.T, at time.Time) {
	t.Helper()
	require.Eventually(t, func() bool { return time.Now().After(at) }, time.Minute, 5*time.Millisecond)
}
