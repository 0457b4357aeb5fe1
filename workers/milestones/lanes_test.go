package milestones_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

// The budget of the lane tests: 20 calls a 1 s "minute" (a read reserve
// of 2 and a live reserve of 2 above it, so a lower lane stops at 16 a
// window) and an hour that does not end within the test, so the reserves
// never open to the lower lanes.
const laneMinute, lanePerMinute = time.Second, 20

// call is one API call as it got its token: its lane, the message (work
// id, stream:seq) it was made for, and whether it was a write.
type call struct {
	lane     events.Lane
	work     string
	mutation bool
}

// laneBundle is JetStream with omq's streams, the sandbox over real HTTP
// (its own limits off: the shared budget is the limit under test) and an
// API client that takes its tokens from a scaled budget and journals every
// call in the order the budget let it through.
type laneBundle struct {
	js  jetstream.JetStream
	nc  *nats.Conn
	top streams.Topology
	sb  *sandbox.Server
	api *openmoove.Client
	cfg config.Config

	mu    sync.Mutex
	calls []call
}

func laneSetup(t *testing.T) *laneBundle {
	t.Helper()
	ctx := t.Context()
	s, top := testkit.JetStream(t)
	sb, err := sandbox.New(sandbox.Config{RateLimit: -1})
	require.NoError(t, err)
	require.NoError(t, sb.Start(ctx))
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	bud, err := budget.New(ctx, s.JS, top, budget.Limits{PerHour: 1000 * lanePerMinute, PerMinute: lanePerMinute, Hour: time.Hour, Minute: laneMinute})
	require.NoError(t, err)
	b := &laneBundle{js: s.JS, nc: s.Conn, top: top, sb: sb}
	b.api, err = openmoove.New(bud.Hooks(openmoove.Config{BaseURL: sb.URL(), APIKey: key,
		BeforeRequest: func(ctx context.Context, ri openmoove.RequestInfo) error {
			b.mu.Lock()
			b.calls = append(b.calls, call{lane: budget.LaneOf(ctx), work: budget.WorkOf(ctx), mutation: ri.Mutation})
			b.mu.Unlock()
			return nil
		}}))
	require.NoError(t, err)
	t.Cleanup(b.api.CloseIdleConnections)
	b.cfg = config.Defaults()
	b.cfg.Concurrency, b.cfg.AckWait = 8, 10*time.Second
	b.cfg.RetryMin, b.cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	b.cfg.PauseMin, b.cfg.PauseMax = 100*time.Millisecond, 200*time.Millisecond
	return b
}

// journal is a copy of the calls so far.
func (b *laneBundle) journal() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

// count is how many calls of lane the journal holds.
func count(calls []call, lane events.Lane) int {
	n := 0
	for _, c := range calls {
		if c.lane == lane {
			n++
		}
	}
	return n
}

// liveOvertakes publishes one live message with publish whenever the lower
// lane has made some more calls (so it is at its reserve, turned away, with
// most of its backlog still queued), and requires each live message's
// write to get its token before the lower lane has spent windows more
// minute windows' worth of calls, whatever is queued ahead of it (the
// whole backlog, five windows and more, when it holds the worker). On a
// consumer shared with the lower lane (events) one window is the aim and
// what bench's lanes row measures, and the test allows two, for a machine
// so loaded that handing back the backlog ahead of the live message
// outlasts the test's 1 s window; with a consumer of their own (property
// creations) nothing stands ahead of them and one is required.
func (b *laneBundle) liveOvertakes(t *testing.T, lower events.Lane, n, windows int, publish func(i int) publisher.Ack) {
	t.Helper()
	for i := range n {
		mark := count(b.journal(), lower) + 4
		require.Eventually(t, func() bool { return count(b.journal(), lower) >= mark }, 30*time.Second, 5*time.Millisecond, "the %s lane goes on", lower)
		before := count(b.journal(), lower)
		ack := publish(i)
		work := ack.Stream + ":" + strconv.FormatUint(ack.Sequence, 10)
		var between int
		require.Eventually(t, func() bool {
			calls := b.journal()
			for j, c := range calls {
				if c.work == work && c.mutation {
					require.Equal(t, events.LaneLive, c.lane)
					between = count(calls[:j], lower) - before
					return true
				}
			}
			return false
		}, 30*time.Second, 5*time.Millisecond, "live message %d is called", i)
		require.LessOrEqual(t, between, windows*lanePerMinute,
			"live message %d waited for %d %s calls, more than %d minute windows' worth: the %s backlog ahead of it held the worker", i, between, lower, windows, lower)
	}
}

// streamEmpty waits until stream holds nothing.
func (b *laneBundle) streamEmpty(t *testing.T, stream string) {
	t.Helper()
	require.Eventually(t, func() bool {
		st, err := b.js.Stream(t.Context(), stream)
		if err != nil {
			return false
		}
		info, err := st.Info(t.Context())
		return err == nil && info.State.Msgs == 0
	}, 60*time.Second, 20*time.Millisecond, "%s drains", stream)
}

// A replay of 200 real dead letters of events (the replay lane) on the
// milestones consumer spends its 16 calls a window and is turned away; live
// events published meanwhile, behind most of the replay on the same
// consumer, each get their update call before the replay has made two more
// windows' worth of calls. Nothing is dead-lettered for waiting, and every
// replayed event is done.
func TestLiveEventsOvertakeADeadLetterReplay(t *testing.T) {
	t.Parallel()
	const txs, live = 40, 5 // 40 transactions × 5 events: 200 dead letters
	b := laneSetup(t)
	ctx := t.Context()
	types := []string{events.TypeLegalPackCompleted, events.TypePropertyListed, events.TypeOfferAccepted,
		events.TypeContractsExchanged, events.TypeCompletionDateSet}
	seq := uint64(0)
	for range txs {
		tx := b.seed(t)
		for _, typ := range types {
			seq++
			ev := events.Event{ID: tx + "-" + typ, Type: typ, TransactionID: tx, Actor: "crm"}
			_, err := deadletter.Write(ctx, b.js, b.top, deadletter.Failed{
				Subject: b.top.EventSubject(typ), Data: []byte(fmt.Sprintf(`{"id":%q,"type":%q,"transaction_id":%q,"actor":"crm"}`, ev.ID, typ, tx)),
				Header: nats.Header{jetstream.MsgIDHeader: []string{ev.ID}}, Stream: b.top.EventsStream(), Seq: seq, Deliveries: 1,
				Kind: "transient", Error: "the API was down", Worker: "milestones"})
			require.NoError(t, err)
		}
	}
	m, err := events.LoadMilestoneMap(b.cfg.MilestoneMap)
	require.NoError(t, err)
	w, err := milestones.New(ctx, milestones.Options{Worker: b.cfg.Worker(), JS: b.js, API: b.api, Topology: b.top,
		Map: m, Mode: b.cfg.MilestoneMode, Grace: b.cfg.TransactionGrace, Metrics: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(c))
	})

	store := deadletter.NewStore(b.js, b.top)
	letters, err := store.List(ctx, deadletter.Filter{})
	require.NoError(t, err)
	require.Len(t, letters, txs*5)
	ids := make([]uint64, len(letters))
	for i, l := range letters {
		ids[i] = l.ID
	}
	sum, err := store.ReplayMany(ctx, ids, deadletter.ReplayOptions{}, nil)
	require.NoError(t, err)
	require.Equal(t, txs*5, sum.Replayed)

	p, err := publisher.New(b.nc)
	require.NoError(t, err)
	b.liveOvertakes(t, events.LaneReplay, live, 2, func(i int) publisher.Ack {
		ack, err := p.Publish(ctx, events.Event{ID: fmt.Sprintf("live-%d", i), Type: events.TypeLegalPackCompleted, TransactionID: b.seed(t), Actor: "crm"})
		require.NoError(t, err)
		return ack
	})

	b.streamEmpty(t, b.top.EventsStream())
	b.streamEmpty(t, b.top.DLQStream())
	done := map[string]bool{}
	for _, c := range b.journal() {
		if c.mutation {
			done[c.work] = true
		}
	}
	require.Len(t, done, txs*5+live, "every replayed event and every live event made its update")
}

// An import of 150 creations (the bulk lane, on the bulk subject and its
// own consumer, properties-bulk) spends its 16 calls a window and is
// turned away, window after window, about ten of them. With MaxDeliver 4
// (on the shared consumer, a bulk message stood aside only once and then
// held the worker) single creations published meanwhile each get their
// POST before the import has made one more window's worth of calls; the
// held import spends no deliveries on what it has not fetched (the bulk
// consumer's redelivered messages never exceed the ones in hand at a hold,
// 2 × Concurrency, where handing back its backlog redelivered all of it),
// nothing is dead-lettered, and every creation is made once.
func TestLiveCreationsOvertakeAnImport(t *testing.T) {
	t.Parallel()
	const bulk, live = 150, 5
	b := laneSetup(t)
	b.cfg.MaxDeliver, b.cfg.MaxFailures = 4, 3
	ctx := t.Context()
	b.startProperties(t)
	creation := func(id string) events.CreateProperty {
		return events.CreateProperty{RequestID: id, CreateClientRequest: *testkit.CreateRequest()}
	}
	imp, err := publisher.New(b.nc, publisher.WithLane(events.LaneBulk))
	require.NoError(t, err)
	batch := imp.NewBatch()
	for i := range bulk {
		_, err := batch.AddProperty(ctx, creation(fmt.Sprintf("import-%d", i)))
		require.NoError(t, err)
	}
	require.Empty(t, batch.Flush(ctx).Failures)
	redelivered := b.watchRedelivered(t, properties.BulkWorkerName)

	p, err := publisher.New(b.nc)
	require.NoError(t, err)
	b.liveOvertakes(t, events.LaneBulk, live, 1, func(i int) publisher.Ack {
		ack, err := p.CreateProperty(ctx, creation(fmt.Sprintf("live-%d", i)))
		require.NoError(t, err)
		return ack
	})

	b.streamEmpty(t, b.top.CommandsStream())
	t.Logf("bulk consumer: at most %d redelivered messages at once", redelivered())
	require.LessOrEqual(t, redelivered(), 2*b.cfg.Concurrency,
		"the held bulk consumer redelivered more than the messages in hand at a hold: its backlog was handed back")
	b.noDeadLetters(t)
	posts := 0
	for _, c := range b.journal() {
		if c.mutation {
			posts++
		}
	}
	require.Equal(t, bulk+live, posts, "every creation made once")
	info, err := b.consumer(t, properties.BulkWorkerName)
	require.NoError(t, err)
	require.GreaterOrEqual(t, info.Delivered.Consumer, uint64(bulk), "the import went through the bulk consumer")
}

// A creation on the bulk subject is bulk work whatever its Omq-Lane header
// says: a publisher cannot jump the queue by marking it live.
func TestLiveHeaderOnTheBulkSubjectIsBulk(t *testing.T) {
	t.Parallel()
	b := laneSetup(t)
	ctx := t.Context()
	b.startProperties(t)
	body, err := events.CreateProperty{RequestID: "jumps-the-queue", CreateClientRequest: *testkit.CreateRequest()}.Marshal()
	require.NoError(t, err)
	ack, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: b.top.BulkCreatePropertySubject(), Data: body,
		Header: nats.Header{events.HeaderLane: []string{string(events.LaneLive)}}})
	require.NoError(t, err)
	work := ack.Stream + ":" + strconv.FormatUint(ack.Sequence, 10)
	var lane events.Lane
	require.Eventually(t, func() bool {
		for _, c := range b.journal() {
			if c.work == work && c.mutation {
				lane = c.lane
				return true
			}
		}
		return false
	}, 30*time.Second, 5*time.Millisecond, "the creation is made")
	require.Equal(t, events.LaneBulk, lane, "the POST of a live-marked creation on the bulk subject")
}

// watchRedelivered samples the named consumer's count of redelivered,
// unacknowledged messages until the test ends; the function returned
// reports the highest seen.
func (b *laneBundle) watchRedelivered(t *testing.T, name string) func() int {
	t.Helper()
	var mu sync.Mutex
	highest := 0
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if info, err := b.consumer(t, name); err == nil {
				mu.Lock()
				highest = max(highest, info.NumRedelivered)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return highest
	}
}

// consumer is the info of the named consumer of the commands stream.
func (b *laneBundle) consumer(t *testing.T, name string) (*jetstream.ConsumerInfo, error) {
	c, err := b.js.Consumer(context.WithoutCancel(t.Context()), b.top.CommandsStream(), name)
	if err != nil {
		return nil, err
	}
	return c.Info(context.WithoutCancel(t.Context()))
}

// noDeadLetters requires that nothing was ever dead-lettered.
func (b *laneBundle) noDeadLetters(t *testing.T) {
	t.Helper()
	st, err := b.js.Stream(t.Context(), b.top.DLQStream())
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.State.LastSeq, "nothing was dead-lettered")
}

// seed creates a property in the sandbox and returns its transaction id.
func (b *laneBundle) seed(t *testing.T) string {
	t.Helper()
	tx, err := b.sb.SeedProperty(key, *testkit.CreateRequest())
	require.NoError(t, err)
	return tx
}

// startProperties starts the property worker (both its consumers) on the
// bundle's budget, and stops it when the test ends.
func (b *laneBundle) startProperties(t *testing.T) {
	t.Helper()
	w, err := properties.New(t.Context(), properties.Options{Worker: b.cfg.Worker(), JS: b.js, Topology: b.top, API: b.api})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(c))
	})
}
