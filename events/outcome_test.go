package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/testkit"
)

func TestPublishOutcome(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	o := events.Outcome{
		ID:   events.OutcomeID(events.OutcomeMilestoneCompleted, "evt-1"),
		Kind: events.OutcomeMilestoneCompleted, TransactionID: "tx-1", EventID: "evt-1",
		Data: map[string]any{"milestone": "Completion"},
	}
	ack, err := events.PublishOutcome(ctx, s.JS, top, o)
	require.NoError(t, err)
	require.False(t, ack.Duplicate)
	again, err := events.PublishOutcome(ctx, s.JS, top, o)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "a redelivered message must not publish its outcome twice")
	require.Equal(t, ack.Sequence, again.Sequence)

	msg, err := s.JS.Stream(ctx, top.OutcomesStream())
	require.NoError(t, err)
	raw, err := msg.GetMsg(ctx, ack.Sequence)
	require.NoError(t, err)
	require.Equal(t, "openmoove.outcomes.milestone_completed", raw.Subject)
	got, err := events.ParseOutcome(raw.Data)
	require.NoError(t, err)
	require.Equal(t, "milestone_completed:evt-1", got.ID)
	require.Equal(t, "tx-1", got.TransactionID)
	require.Equal(t, "Completion", got.Data["milestone"])
	require.False(t, got.OccurredAt.IsZero(), "occurred_at defaults to now")

	_, err = events.PublishOutcome(ctx, s.JS, top, events.Outcome{Kind: "x"})
	require.ErrorIs(t, err, events.ErrInvalidOutcome)
	require.Equal(t, failure.Permanent, failure.KindOf(err))

	s.Conn.Close()
	_, err = events.PublishOutcome(ctx, s.JS, top, events.Outcome{ID: "a", Kind: "b"})
	require.Error(t, err)
	require.False(t, errors.Is(err, events.ErrInvalidOutcome))
	require.Equal(t, failure.Transient, failure.KindOf(err), "NATS refusing the outcome is worth retrying")
}
