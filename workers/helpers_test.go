package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

const testKey = "om_test_key"

type testBundle struct {
	nats   *natstest.Server
	js     jetstream.JetStream
	top    streams.Topology
	sb     *sandbox.Server
	client *openmoove.Client
}

// setup starts an embedded JetStream with omq's streams and a sandbox over
// real HTTP, with a client for it.
func setup(t *testing.T, sbCfg sandbox.Config, opts ...natstest.Option) *testBundle {
	t.Helper()
	s, top := testkit.JetStream(t, opts...)
	sb, err := sandbox.New(sbCfg)
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, sb.Close(context.Background())) })
	c, err := openmoove.New(openmoove.Config{BaseURL: sb.URL(), APIKey: testKey})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return &testBundle{nats: s, js: s.JS, top: top, sb: sb, client: c}
}

// fastConfig is a Config with time scaled down for tests.
func (b *testBundle) fastConfig(name string, h Handler) Config {
	return Config{
		Name: name, Stream: b.top.EventsStream(), Subjects: []string{b.top.EventSubject(name + ".>")},
		Handler: h, Concurrency: 4, AckWait: 2 * time.Second, MaxDeliver: 20, MaxFailures: 3,
		RetryMin: 20 * time.Millisecond, RetryMax: 80 * time.Millisecond,
		InProcessRetries: 1, InProcessRetryWindow: 50 * time.Millisecond,
		BreakerTransient: 5, PauseMin: 200 * time.Millisecond, PauseMax: 400 * time.Millisecond,
		Topology: b.top,
	}
}

// start builds and starts a worker and stops it at the end of the test.
func (b *testBundle) start(t *testing.T, cfg Config) *Worker {
	t.Helper()
	w, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(ctx))
	})
	return w
}

// publish puts n events on subject prefix.<i> with Msg-Ids.
func (b *testBundle) publish(t *testing.T, worker string, n int) {
	t.Helper()
	for i := range n {
		b.publishOne(t, worker, i)
	}
}

// deadLetters reads every dead letter in the DLQ.
func (b *testBundle) deadLetters(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	st, err := b.js.Stream(t.Context(), b.top.DLQStream())
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

// streamMsgs is how many messages stream holds.
func (b *testBundle) streamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	st, err := b.js.Stream(t.Context(), stream)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

func history(t *testing.T, m *jetstream.RawStreamMsg) []deadletter.ErrorRecord {
	t.Helper()
	var h []deadletter.ErrorRecord
	require.NoError(t, json.Unmarshal([]byte(m.Header.Get(deadletter.HeaderErrors)), &h))
	return h
}

// waitFor polls cond until it holds (true) or within passes (false).
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, within, 10*time.Millisecond, append([]any{msg}, args...)...)
}

// publishOne publishes event i of worker.
func (b *testBundle) publishOne(t *testing.T, worker string, i int) {
	t.Helper()
	m := &nats.Msg{Subject: b.top.EventSubject(fmt.Sprintf("%s.e%d", worker, i)), Data: []byte(strconv.Itoa(i)),
		Header: nats.Header{jetstream.MsgIDHeader: []string{fmt.Sprintf("%s-%d", worker, i)}}}
	_, err := b.js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
}
