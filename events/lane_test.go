package events_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
)

func TestParseLane(t *testing.T) {
	t.Parallel()
	for _, l := range events.Lanes() {
		got, err := events.ParseLane(string(l))
		require.NoError(t, err)
		require.Equal(t, l, got)
	}
	_, err := events.ParseLane("urgent")
	require.ErrorContains(t, err, `"urgent"`)
	require.ErrorContains(t, err, "live, bulk, replay, reads")
}

func TestLaneOfHeaderDefaultsToLive(t *testing.T) {
	t.Parallel()
	require.Equal(t, events.LaneLive, events.LaneOfHeader(""))
	require.Equal(t, events.LaneLive, events.LaneOfHeader("LIVE!"))
	require.Equal(t, events.LaneReplay, events.LaneOfHeader("replay"))
}
