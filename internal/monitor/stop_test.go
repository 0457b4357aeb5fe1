package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/testkit"
)

// A check stuck in a call that ignores its context: Stop returns at its
// deadline naming the monitor and the check, and a second Stop says the
// same.
func TestMonitorStopTimeoutNamesTheCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api, entered, release := testkit.HangingAPI(t, b.sb.URL(), key)
	m, err := monitor.New(t.Context(), monitor.Config{Store: b.store, API: api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	require.NoError(t, m.Start(t.Context()))
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first check never called the API")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = m.Stop(ctx)
	release()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "monitor: a portfolio check still running")
	require.Equal(t, err, m.Stop(context.Background()), "a second Stop returns the first result")
}
