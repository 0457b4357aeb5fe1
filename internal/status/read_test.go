package status_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/status"
	"github.com/openmoove/omq/internal/testkit"
)

// Read finds each part where the workers leave it: the oldest unfinished
// message of a consumer, a recent failure in FAILURES, an open breaker in
// BREAKER.
func TestReadFromWhatTheWorkersShare(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t)
	ctx := t.Context()
	js := s.JS
	subj := top.EventSubject("offer_accepted")
	_, err := js.CreateOrUpdateConsumer(ctx, top.EventsStream(), jetstream.ConsumerConfig{Durable: "milestones",
		FilterSubject: top.EventSubject(">"), AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	before := time.Now()
	ack, err := js.Publish(ctx, subj, []byte(`{}`))
	require.NoError(t, err)

	read := func() *status.Status {
		st, err := status.Read(ctx, js, status.Options{Topology: top, StuckAfter: time.Hour})
		require.NoError(t, err)
		return st
	}
	st := read()
	require.Equal(t, status.Healthy, st.State, "%+v", st.Reasons)
	c := st.Streams[0].Consumers[0]
	require.Equal(t, "milestones", c.Name)
	require.EqualValues(t, 1, c.Pending)
	require.NotNil(t, c.OldestPendingAt)
	require.WithinDuration(t, before, *c.OldestPendingAt, 2*time.Second)
	require.Equal(t, 1000, st.Budget.HourLeft)

	fkv, err := js.KeyValue(ctx, top.FailuresBucket())
	require.NoError(t, err)
	hist, _ := json.Marshal([]deadletter.ErrorRecord{{Kind: "transient", Error: "openmoove: PATCH /milestones/7/: 503 Service Unavailable", Delivery: 1}})
	_, err = fkv.Put(ctx, fmt.Sprintf("%s.%d", top.EventsStream(), ack.Sequence), hist)
	require.NoError(t, err)
	st = read()
	require.Equal(t, status.Degraded, st.State)
	require.Equal(t, 1, st.Failing.Messages)
	require.Equal(t, top.EventsStream(), st.Failing.LatestOf)
	require.Contains(t, st.Reasons[0].Text, "503 Service Unavailable")

	bkv, err := js.KeyValue(ctx, top.BreakerBucket())
	require.NoError(t, err)
	until := time.Now().Add(time.Minute)
	b, _ := json.Marshal(map[string]any{"open": true, "until": until, "pause": time.Minute, "reason": "openmoove: GET /products/: 503"})
	_, err = bkv.Put(ctx, "milestones", b)
	require.NoError(t, err)
	st = read()
	require.Equal(t, status.Paused, st.State)
	require.Len(t, st.Breakers, 1)
	br := st.Breakers[0]
	require.Equal(t, "open", br.State)
	require.Equal(t, 60.0, br.PauseSeconds)
	require.WithinDuration(t, until.Add(-time.Second), br.NextProbe, time.Millisecond)
}
