package publisher_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/publisher"
)

// A publisher marks what it publishes with its lane (live by default, bulk
// when asked); the replay and reads lanes are omq's own.
func TestPublisherLane(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts []publisher.Option
		want events.Lane
	}{{nil, events.LaneLive}, {[]publisher.Option{publisher.WithLane(events.LaneBulk)}, events.LaneBulk}} {
		s, p := setup(t, tc.opts...)
		ctx := t.Context()
		_, err := p.Publish(ctx, events.Event{Type: events.TypeCompletionDateSet, TransactionID: "tx-1"})
		require.NoError(t, err)
		st, err := s.JS.Stream(ctx, "OPENMOOVE_EVENTS")
		require.NoError(t, err)
		msg, err := st.GetLastMsgForSubject(ctx, "openmoove.events.completion_date_set")
		require.NoError(t, err)
		require.Equal(t, string(tc.want), msg.Header.Get(events.HeaderLane))
	}
	s, _ := setup(t)
	for _, l := range []events.Lane{events.LaneReplay, events.LaneReads, "urgent"} {
		_, err := publisher.New(s.Conn, publisher.WithLane(l))
		require.ErrorIs(t, err, publisher.ErrInvalidOption)
		require.ErrorContains(t, err, "live or bulk")
	}
}
