package publisher_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
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

// A bulk publisher's creations, single or batched, go to the bulk subject
// (consumed apart, so a held import never stands in front of live
// creations) and still say bulk; a live publisher's stay on the live
// subject.
func TestPublisherLaneChoosesTheCreationSubject(t *testing.T) {
	t.Parallel()
	top := streams.New("openmoove")
	for _, tc := range []struct {
		lane    events.Lane
		subject string
	}{{events.LaneLive, top.CreatePropertySubject()}, {events.LaneBulk, top.BulkCreatePropertySubject()}} {
		s, p := setup(t, publisher.WithLane(tc.lane))
		ctx := t.Context()
		one, err := p.CreateProperty(ctx, events.CreateProperty{CreateClientRequest: *testkit.CreateRequest()})
		require.NoError(t, err)
		b := p.NewBatch()
		_, err = b.AddProperty(ctx, events.CreateProperty{CreateClientRequest: *testkit.CreateRequest()})
		require.NoError(t, err)
		res := b.Flush(ctx)
		require.Empty(t, res.Failures)
		st, err := s.JS.Stream(ctx, top.CommandsStream())
		require.NoError(t, err)
		for _, seq := range []uint64{one.Sequence, res.Acks[0].Sequence} {
			msg, err := st.GetMsg(ctx, seq)
			require.NoError(t, err)
			require.Equal(t, tc.subject, msg.Subject, "a %s creation", tc.lane)
			require.Equal(t, string(tc.lane), msg.Header.Get(events.HeaderLane))
		}
	}
}
