package natserr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/internal/natstest"
)

// A real server's refusals, not hand-made errors: the codes and texts are
// the server's, and would drift unnoticed in a table.
func TestStoreFullOnARealFullStore(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.MaxStore(1<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := s.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "B"})
	require.NoError(t, err)
	rev, err := kv.Put(ctx, "k", []byte("v"))
	require.NoError(t, err)

	// A stream whose max bytes do not fit is refused at creation.
	_, err = s.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "BIG", Subjects: []string{"big"}, MaxBytes: 2 << 20})
	require.True(t, natserr.StoreFull(err), "%v", err)

	_, err = s.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}})
	require.NoError(t, err)
	for range 1000 {
		if _, err = s.JS.Publish(ctx, "fill", make([]byte, 16<<10)); err != nil {
			break
		}
	}
	require.True(t, natserr.StoreFull(err), "%v", err)

	var w natserr.Watch
	_, err = kv.Update(ctx, "k", []byte("w"), rev)
	require.True(t, natserr.StoreFull(err), "a KV write on a full store: %v", err)
	w.Observe(err)
	got, since := w.Refused()
	require.Error(t, got)
	require.False(t, since.IsZero())
	explained := natserr.Explain(err).Error()
	require.Contains(t, explained, "store is full")
	require.Contains(t, explained, "max_store")
	require.ErrorIs(t, natserr.Explain(err), err)

	w.Observe(errors.New("some other error"))
	got, _ = w.Refused()
	require.Error(t, got, "an unrelated error does not end the refused state")

	st, err := s.JS.Stream(ctx, "FILL")
	require.NoError(t, err)
	require.NoError(t, st.Purge(ctx))
	_, err = kv.Update(ctx, "k", []byte("w"), rev)
	require.NoError(t, err, "a write succeeds again once there is room, without a restart")
	w.Observe(err)
	got, _ = w.Refused()
	require.NoError(t, got)
}

func TestExplain(t *testing.T) {
	t.Parallel()
	require.Nil(t, natserr.Explain(nil))
	other := errors.New("boom")
	require.Equal(t, other, natserr.Explain(other))
	noLeader := natserr.Explain(fmt.Errorf("stream info: %w", nats.ErrNoResponders))
	require.Contains(t, noLeader.Error(), "no JetStream leader yet")
	require.Contains(t, noLeader.Error(), "retry in a few seconds")
	timeout := natserr.Explain(fmt.Errorf("stream info: %w", context.DeadlineExceeded))
	require.True(t, strings.HasPrefix(timeout.Error(), "NATS did not answer in time"), timeout.Error())
	require.ErrorIs(t, timeout, context.DeadlineExceeded)
	var nilWatch *natserr.Watch
	nilWatch.Observe(other)
	got, _ := nilWatch.Refused()
	require.NoError(t, got)
}

func TestExplainJoinedErrorsIsOneLine(t *testing.T) {
	t.Parallel()
	err := natserr.Explain(errors.Join(fmt.Errorf("stream A: %w", nats.ErrNoResponders), fmt.Errorf("stream B: %w", nats.ErrNoResponders), fmt.Errorf("stream C: %w", nats.ErrNoResponders)))
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), "stream A: nats: no responders available for request; and 2 more")
}
