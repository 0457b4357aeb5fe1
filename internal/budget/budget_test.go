package budget_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setup(t *testing.T, l budget.Limits) (*budget.Budget, *natstest.Server) {
	t.Helper()
	s := natstest.Start(t, natstest.Listen())
	_, err := streams.Apply(t.Context(), s.JS, streams.New("openmoove"), nil)
	require.NoError(t, err)
	b, err := budget.New(t.Context(), s.JS, streams.New("openmoove"), l)
	require.NoError(t, err)
	return b, s
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	for _, l := range []budget.Limits{
		{PerHour: 10, PerMinute: 20},
		{Hour: time.Minute, Minute: time.Hour},
		{PerMinute: 5, ReadReserve: 5},
	} {
		require.ErrorIs(t, l.WithDefaults().Validate(), budget.ErrInvalidLimits, "%+v", l)
	}
	l := budget.Limits{}.WithDefaults()
	require.NoError(t, l.Validate())
	require.Equal(t, 1000, l.PerHour)
	require.Equal(t, 100, l.PerMinute)
	require.Equal(t, time.Minute, l.Minute)
	require.Equal(t, 10, l.ReadReserve)
}

func TestTakeStopsAtTheLimitAndMutationsUseTheReserve(t *testing.T) {
	t.Parallel()
	b, _ := setup(t, budget.Limits{PerHour: 100, PerMinute: 10, Hour: time.Hour, Minute: time.Minute, ReadReserve: 2})
	ctx := t.Context()
	for i := range 8 {
		require.NoError(t, b.Take(ctx, false), "read %d", i)
	}
	err := b.Take(ctx, false)
	require.Equal(t, failure.Throttled, failure.KindOf(err), "reads stop at the reserve: %v", err)
	require.ErrorIs(t, err, budget.ErrSpent)
	require.ErrorIs(t, err, failure.ErrReadsOnly, "writes may still go: the worker keeps fetching")
	wait, ok := failure.WaitOf(err)
	require.True(t, ok)
	require.InDelta(t, time.Minute.Seconds(), wait.Seconds(), 2)
	require.NoError(t, b.Take(ctx, true))
	require.NoError(t, b.Take(ctx, true))
	err = b.Take(ctx, true)
	require.Equal(t, failure.Throttled, failure.KindOf(err), "mutations stop at the limit")
	require.NotErrorIs(t, err, failure.ErrReadsOnly)
	require.NotErrorIs(t, b.Take(ctx, false), failure.ErrReadsOnly, "nothing left for writes either")
	hour, minute, err := b.Left(ctx)
	require.NoError(t, err)
	require.Equal(t, 90, hour)
	require.Equal(t, 0, minute)
}

func TestBudgetIsSharedAcrossConnections(t *testing.T) {
	t.Parallel()
	l := budget.Limits{PerHour: 1000, PerMinute: 30, Hour: time.Hour, Minute: time.Minute, ReadReserve: -1}
	b1, s := setup(t, l)
	var budgets []*budget.Budget
	budgets = append(budgets, b1)
	for range 2 {
		nc, err := nats.Connect(s.URL, s.ClientOptions()...)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		b, err := budget.New(t.Context(), js, streams.New("openmoove"), l)
		require.NoError(t, err)
		budgets = append(budgets, b)
	}
	ok := make(chan int, 3)
	for _, b := range budgets {
		go func() {
			n := 0
			for b.Take(context.Background(), true) == nil {
				n++
			}
			ok <- n
		}()
	}
	total := 0
	for range 3 {
		total += <-ok
	}
	require.Equal(t, 30, total, "three takers together spend exactly the window")
}

func TestObserveBelievesTheAPI(t *testing.T) {
	t.Parallel()
	b, _ := setup(t, budget.Limits{PerHour: 1000, PerMinute: 100, ReadReserve: -1})
	ctx := t.Context()
	reset := time.Now().Add(30 * time.Second)
	b.Observe(openmoove.RateLimit{Limit: 100, Remaining: 40, Reset: reset})
	_, minute, err := b.Left(ctx)
	require.NoError(t, err)
	require.Equal(t, 40, minute, "the API says 40 are left")
	b.Observe(openmoove.RateLimit{Limit: 100, Remaining: 0, Reset: reset})
	err = b.Take(ctx, true)
	require.Equal(t, failure.Throttled, failure.KindOf(err))
	wait, _ := failure.WaitOf(err)
	require.InDelta(t, 30, wait.Seconds(), 1, "nothing left: wait for the API's reset")
}

func TestStop429StopsEveryTaker(t *testing.T) {
	t.Parallel()
	b, _ := setup(t, budget.Limits{})
	b.Stop429(time.Now().Add(5 * time.Second))
	err := b.Take(t.Context(), true)
	require.Equal(t, failure.Throttled, failure.KindOf(err))
	wait, _ := failure.WaitOf(err)
	require.InDelta(t, 5, wait.Seconds(), 0.5)
}

func TestHooksTakeBeforeEveryCall(t *testing.T) {
	t.Parallel()
	b, _ := setup(t, budget.Limits{PerHour: 1000, PerMinute: 1, ReadReserve: -1})
	var inner int
	cfg := b.Hooks(openmoove.Config{BeforeRequest: func(context.Context, openmoove.RequestInfo) error { inner++; return nil }})
	require.NoError(t, cfg.BeforeRequest(t.Context(), openmoove.RequestInfo{Method: "POST", Mutation: true}))
	err := cfg.BeforeRequest(t.Context(), openmoove.RequestInfo{Method: "POST", Mutation: true})
	require.True(t, errors.Is(err, budget.ErrSpent))
	require.Equal(t, 1, inner, "the wrapped hook runs only when a token was taken")
}

// On a full store the budget's write is refused: that used to be retried as
// compare-and-set contention and reported as "API budget spent: too much
// contention", which sent operators after the wrong cause.
func TestTakeOnAFullStoreNamesNATS(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.MaxStore(4<<20))
	top := streams.Topology{Prefix: "openmoove", DLQMaxBytes: 1 << 20}
	_, err := streams.Apply(t.Context(), s.JS, top, nil)
	require.NoError(t, err)
	var watch natserr.Watch
	b, err := budget.New(t.Context(), s.JS, top, budget.Limits{Store: &watch})
	require.NoError(t, err)
	require.NoError(t, b.Take(t.Context(), true))

	_, err = s.JS.CreateStream(t.Context(), jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}})
	require.NoError(t, err)
	for range 1000 {
		if _, err = s.JS.Publish(t.Context(), "fill", make([]byte, 32<<10)); err != nil {
			break
		}
	}
	require.Error(t, err, "the store never filled")

	err = b.Take(t.Context(), true)
	require.Error(t, err)
	require.NotErrorIs(t, err, budget.ErrSpent, "a refused write is not a spent budget: %v", err)
	require.Equal(t, failure.Transient, failure.KindOf(err))
	require.Contains(t, err.Error(), "NATS refused the write")
	require.Contains(t, err.Error(), "store is full")
	refused, _ := watch.Refused()
	require.Error(t, refused, "the watch was not told")

	st, err := s.JS.Stream(t.Context(), "FILL")
	require.NoError(t, err)
	require.NoError(t, st.Purge(t.Context()))
	require.NoError(t, b.Take(t.Context(), true), "the budget works again once there is room")
	refused, _ = watch.Refused()
	require.NoError(t, refused)
}
