package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
)

// A poll stuck in a call that ignores its context: Stop returns at its
// deadline naming the poller and the poll, unregisters the metrics anyway,
// and a second Stop says the same.
func TestPollerStopTimeoutNamesThePoll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx := b.seed(t, "standard")
	_, err := b.store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
	require.NoError(t, err)
	api, entered, release := testkit.HangingAPI(t, b.sb.URL(), key)
	reg := prometheus.NewRegistry()
	p, err := poller.New(t.Context(), poller.Config{Store: b.store, API: api, JS: b.js, Topology: b.top, Metrics: reg, Now: b.sb.Now})
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx))
	<-entered

	stopCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = p.Stop(stopCtx)
	release()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "poller: a poll still running")
	again := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omq_poller_polls_total",
		Help: "Polls of tracked properties by result (ok, baseline, error, throttled)."}, []string{"result"})
	require.NoError(t, reg.Register(again), "metrics unregistered on timeout too")
	require.Equal(t, err, p.Stop(ctx), "a second Stop returns the first result")
}

func TestFollowerStopTwiceReturnsTheFirstResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f, err := poller.NewFollower(t.Context(), poller.FollowerOptions{JS: b.js, Topology: b.top, Store: b.store})
	require.NoError(t, err)
	require.NoError(t, f.Start(t.Context()))
	require.NoError(t, f.Stop(t.Context()))
	require.NoError(t, f.Stop(t.Context()))
}
