package workers

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Two replicas share one budget over real HTTP: an import's creations (bulk
// lane) on one run the window down to the live reserve, and live messages
// published then on the other get their calls at once, in the same window,
// before the import makes another call. Lanes off, the import spends the
// whole window first.
func TestLiveMessagesOvertakeAnImportOnAnotherReplica(t *testing.T) {
	t.Parallel()
	// 40 a window: a read reserve of 4, a live reserve of 4 above it, so the
	// import stops at 32 until the window's last tenth.
	const limit, window, backlog, live = 40, 4 * time.Second, 50, 3
	// The sandbox allows more than the budget in the same windows: the
	// budget is the limit under test, and its X-RateLimit answers agree.
	b := setup(t, sandbox.Config{RateLimit: 10 * limit, BurstLimit: 10 * limit, RateWindow: window, BurstWindow: window}, natstest.Listen())
	replica := func(name string, h func(*openmoove.Client) Handler) {
		nc, err := nats.Connect(b.nats.URL, b.nats.ClientOptions()...)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		bud, err := budget.New(t.Context(), js, b.top, budget.Limits{PerHour: limit, PerMinute: limit, Hour: window, Minute: window})
		require.NoError(t, err)
		client, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: b.sb.URL(), APIKey: testKey}))
		require.NoError(t, err)
		t.Cleanup(client.CloseIdleConnections)
		cfg := b.fastConfig(name, h(client))
		cfg.MaxDeliver, cfg.AckWait = 50, 15*time.Second
		w, err := New(js, cfg)
		require.NoError(t, err)
		require.NoError(t, w.Start(t.Context()))
		t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	}
	var lanesSeen atomic.Value
	replica("import", func(c *openmoove.Client) Handler {
		return func(ctx context.Context, m *Message) error {
			_, err := c.CreateClient(ctx, testkit.CreateRequest())
			return err
		}
	})
	var liveDone atomic.Int32
	replica("live", func(c *openmoove.Client) Handler {
		return func(ctx context.Context, m *Message) error {
			lanesSeen.Store(budget.LaneOf(ctx))
			if err := c.Probe(ctx); err != nil { // a read: it leaves the read reserve
				return err
			}
			liveDone.Add(1)
			return nil
		}
	})
	for i := range backlog {
		publishLane(t, b, "import", i, events.LaneBulk)
	}
	posts := func() int {
		n := 0
		for _, r := range b.sb.Requests() {
			if r.Method == "POST" {
				n++
			}
		}
		return n
	}
	eventually(t, 20*time.Second, func() bool { return posts() >= limit-8 }, "the import reached the live reserve")
	for i := range live {
		publishLane(t, b, "live", i, events.LaneLive)
	}
	eventually(t, 20*time.Second, func() bool { return liveDone.Load() == live }, "the live messages are done")
	require.Equal(t, events.LaneLive, lanesSeen.Load(), "the runtime gives the handler's calls the message's lane")
	before, gets := 0, 0
	for _, r := range b.sb.Requests() {
		if r.Method == "POST" {
			before++
			continue
		}
		if gets++; gets == live {
			break
		}
	}
	require.Equal(t, limit-8, before, "no import call between the reserve and the last live call")
	eventually(t, 30*time.Second, func() bool { return posts() == backlog }, "the import finishes")
}

// publishLane publishes event i of worker with the lane header.
func publishLane(t *testing.T, b *testBundle, worker string, i int, l events.Lane) {
	t.Helper()
	m := &nats.Msg{Subject: b.top.EventSubject(fmt.Sprintf("%s.e%d", worker, i)), Data: []byte(strconv.Itoa(i)),
		Header: nats.Header{jetstream.MsgIDHeader: []string{fmt.Sprintf("%s-%d", worker, i)}, events.HeaderLane: []string{string(l)}}}
	_, err := b.js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
}
