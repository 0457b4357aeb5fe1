package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustJS(nc *nats.Conn) jetstream.JetStream {
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	return js
}

func setup(t *testing.T, opts ...publisher.Option) (*natstest.Server, *publisher.Publisher) {
	t.Helper()
	s := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := streams.Apply(ctx, s.JS, streams.New("openmoove"), nil)
	require.NoError(t, err)
	p, err := publisher.New(s.Conn, opts...)
	require.NoError(t, err)
	return s, p
}

func TestPublishGeneratesIDAndValidates(t *testing.T) {
	t.Parallel()
	s, p := setup(t)
	ctx := context.Background()
	ack, err := p.Publish(ctx, events.Event{Type: events.TypeCompletionDateSet, TransactionID: "tx-1"})
	require.NoError(t, err)
	require.Len(t, ack.ID, 36, "a UUID is generated")
	st, err := s.JS.Stream(ctx, "OPENMOOVE_EVENTS")
	require.NoError(t, err)
	msg, err := st.GetLastMsgForSubject(ctx, "openmoove.events.completion_date_set")
	require.NoError(t, err)
	require.Equal(t, ack.ID, msg.Header.Get(jetstream.MsgIDHeader))
	ev, err := events.Parse(msg.Data)
	require.NoError(t, err)
	require.Equal(t, ack.ID, ev.ID, "the body carries the same id")

	_, err = p.Publish(ctx, events.Event{Type: events.TypeCompletionDateSet, TransactionID: "a b"})
	require.ErrorIs(t, err, events.ErrInvalid)
}

func TestOptionsRefuseBadValues(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	for _, o := range []publisher.Option{publisher.WithPrefix(""), publisher.WithTimeout(0), publisher.WithMaxInFlight(0)} {
		_, err := publisher.New(s.Conn, o)
		require.ErrorIs(t, err, publisher.ErrInvalidOption)
	}
	_, err := publisher.New(nil)
	require.ErrorIs(t, err, publisher.ErrInvalidOption)
}

func TestBatchBoundsInFlightAndReportsFailures(t *testing.T) {
	t.Parallel()
	s, p := setup(t, publisher.WithMaxInFlight(4), publisher.WithTimeout(time.Second))
	ctx := context.Background()
	b := p.NewBatch()
	for i := range 20 {
		_, err := b.Add(ctx, events.Event{ID: fmt.Sprintf("e-%d", i), Type: events.TypeOfferAccepted, TransactionID: "tx"})
		require.NoError(t, err)
		require.LessOrEqual(t, b.Pending(), 4)
	}
	_, err := b.Add(ctx, events.Event{Type: "nope", TransactionID: "tx"})
	require.ErrorIs(t, err, events.ErrInvalid)
	res := b.Flush(ctx)
	require.Len(t, res.Acks, 20)
	require.Empty(t, res.Failures)

	// A subject no stream takes: every publish fails, each is reported.
	bad, err := publisher.New(s.Conn, publisher.WithPrefix("nostream"), publisher.WithTimeout(time.Second))
	require.NoError(t, err)
	b = bad.NewBatch()
	for i := range 3 {
		_, err := b.Add(ctx, events.Event{ID: fmt.Sprintf("x-%d", i), Type: events.TypeOfferAccepted, TransactionID: "tx"})
		require.NoError(t, err)
	}
	res = b.Flush(ctx)
	require.Empty(t, res.Acks)
	require.Len(t, res.Failures, 3)
	for i, f := range res.Failures {
		require.Equal(t, i, f.Index)
		require.Equal(t, fmt.Sprintf("x-%d", i), f.ID)
		require.True(t, errors.Is(f.Err, jetstream.ErrNoStreamResponse) || f.Err != nil)
	}
}
