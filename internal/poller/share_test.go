package poller_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/system"
)

// pollerOf builds the poller role as omq run does and returns its Poller.
func pollerOf(t *testing.T, ctx context.Context, d system.Deps) *poller.Poller {
	t.Helper()
	for _, r := range system.Roles() {
		if r.Name != "poller" {
			continue
		}
		comps, err := r.New(ctx, &d)
		require.NoError(t, err)
		for _, c := range comps {
			if p, ok := c.(*poller.Poller); ok {
				return p
			}
		}
	}
	t.Fatal("the poller role builds no *poller.Poller")
	return nil
}

// --poll-read-share reaches the poller omq builds: with 2% of a 100-call
// minute the poller may spend 2 reads, one poll, and the next poll is
// throttled by its own share until the window ends (at the default 10% it
// would get five).
func TestReadShareFromSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := config.Defaults()
	c.PollReadShare = 0.02
	require.NoError(t, c.Validate())
	p := pollerOf(t, ctx, system.Deps{Config: c, JS: b.js, Topology: b.top, API: b.api, Metrics: prometheus.NewRegistry()})

	var polled int
	var throttle error
	for range 3 {
		tx := b.seed(t, "standard")
		_, err := b.store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
		require.NoError(t, err)
		tr, err := b.store.Get(ctx, tx)
		require.NoError(t, err)
		if throttle = p.Poll(ctx, tr); throttle != nil {
			break
		}
		polled++
	}
	require.Equal(t, 1, polled, "2 reads of the share: one poll")
	require.True(t, errors.Is(throttle, poller.ErrReadShare), "err = %v", throttle)
	require.Equal(t, failure.Throttled, failure.KindOf(throttle))
	wait, ok := failure.WaitOf(throttle)
	require.True(t, ok && wait > 0 && wait <= time.Minute, "wait %s: until the minute window ends", wait)

	for _, bad := range []float64{-0.1, 1.01} {
		_, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, ReadShare: bad})
		require.ErrorContains(t, err, "ReadShare must be in (0, 1]")
	}
}
