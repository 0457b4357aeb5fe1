package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "om_test_key"

type bundle struct {
	js    jetstream.JetStream
	top   streams.Topology
	sb    *sandbox.Server
	api   *openmoove.Client
	store *poller.Store
}

func setup(t *testing.T) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)
	return &bundle{js: s.JS, top: top, sb: sb, api: api, store: store}
}

func (b *bundle) poller(t *testing.T, interval time.Duration) *poller.Poller {
	t.Helper()
	p, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top,
		Overdue: interval, DueSoon: interval, Interval: interval, Tick: interval / 20, Now: b.sb.Now})
	require.NoError(t, err)
	return p
}

func (b *bundle) seed(t *testing.T, saleMethod string) string {
	t.Helper()
	req := openmoove.CreateClientRequest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		PhoneNumber: "+447700900001", PropertyAddress: "1 Test Street", PropertyPostcode: "SW1A 1AA",
		EstateAgentEmail: "agent@example.com", SaleMethod: saleMethod}
	if openmoove.IsAuction(saleMethod) {
		req.AuctioneerEmail = "auction@example.com"
	}
	tx, err := b.sb.SeedProperty(key, req)
	require.NoError(t, err)
	return tx
}

// outcomes reads every outcome of kind in the stream.
func (b *bundle) outcomes(t *testing.T, kind string) []events.Outcome {
	t.Helper()
	ctx := context.Background()
	st, err := b.js.Stream(ctx, b.top.OutcomesStream())
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []events.Outcome
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if m.Subject == b.top.OutcomeSubject(kind) {
			o, err := events.ParseOutcome(m.Data)
			require.NoError(t, err)
			out = append(out, o)
		}
	}
	return out
}

func (b *bundle) waitPolledAfter(t *testing.T, tx string, after time.Time) *poller.Tracked {
	t.Helper()
	var got *poller.Tracked
	require.Eventually(t, func() bool {
		tr, err := b.store.Get(context.Background(), tx)
		if err != nil || tr.Snapshot == nil || !tr.Snapshot.PolledAt.After(after) {
			return false
		}
		got = tr
		return true
	}, 10*time.Second, 5*time.Millisecond)
	return got
}

func stop(t *testing.T, p *poller.Poller) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, p.Stop(ctx))
}

// A milestone completed in the sandbox appears as one milestone_completed
// outcome within one poll interval; a restarted poller re-announces nothing.
func TestCompletionWithinOneIntervalAndRestartIsQuiet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx := b.seed(t, "standard")
	_, err := b.store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
	require.NoError(t, err)

	const interval = time.Second
	p := b.poller(t, interval)
	require.NoError(t, p.Start(ctx))
	base := b.waitPolledAfter(t, tx, time.Time{})
	require.NotZero(t, base.PropertyID, "the first poll learns the numeric id")
	require.Empty(t, b.outcomes(t, poller.OutcomeMilestoneCompleted), "the first poll only records")

	m, err := b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	completed := time.Now()
	var got []events.Outcome
	require.Eventually(t, func() bool {
		got = b.outcomes(t, poller.OutcomeMilestoneCompleted)
		return len(got) > 0
	}, 5*time.Second, 5*time.Millisecond)
	require.Len(t, got, 1)
	o := got[0]
	// OccurredAt is the poll's time: the change was seen within one
	// interval (plus a tick and the two reads).
	elapsed := o.OccurredAt.Sub(completed)
	require.LessOrEqual(t, elapsed, interval+interval*3/10, "seen within one interval")
	t.Logf("completion seen after %s (interval %s)", elapsed, interval)
	require.Equal(t, tx, o.TransactionID)
	require.Equal(t, base.PropertyID, o.PropertyID)
	require.Equal(t, openmoove.MilestoneInstruction, o.Data["milestone"])
	require.Equal(t, poller.ViaPoll, o.Data["source"])
	want := poller.MilestoneOutcome(tx, base.PropertyID, "", poller.FromAPI(m), nil, poller.ViaWebhook, time.Now())
	require.Equal(t, want.ID, o.ID, "the webhook path would publish the same id")
	stop(t, p)

	p2 := b.poller(t, interval)
	require.NoError(t, p2.Start(ctx))
	// Two polls by the restarted poller, to be sure it looked.
	b.waitPolledAfter(t, tx, b.sb.Now())
	tr := b.waitPolledAfter(t, tx, b.sb.Now())
	stop(t, p2)
	require.Len(t, b.outcomes(t, poller.OutcomeMilestoneCompleted), 1, "a restart re-announces nothing")
	require.Empty(t, b.outcomes(t, poller.OutcomeMilestoneAdded))
	require.True(t, tr.Snapshot.Milestone(m.ID).Completed)
}

// The interval follows the most pressing open milestone, on the API's clock.
func TestSmartIntervals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Overdue: time.Minute, DueSoon: 2 * time.Minute, Interval: 3 * time.Minute})
	require.NoError(t, err)
	tx := b.seed(t, "standard") // Instruction is due in three days
	snap := func() *poller.Snapshot {
		prop, err := b.api.Property(context.Background(), tx)
		require.NoError(t, err)
		ms, err := b.api.Milestones(context.Background(), tx)
		require.NoError(t, err)
		return poller.NewSnapshot(prop, ms, b.sb.Now())
	}
	require.Equal(t, 3*time.Minute, p.Interval(snap(), b.sb.Now()))
	b.sb.AdvanceClock(60 * time.Hour) // due in 12 h
	require.Equal(t, 2*time.Minute, p.Interval(snap(), b.sb.Now()))
	b.sb.AdvanceClock(24 * time.Hour) // overdue by 12 h
	require.Equal(t, time.Minute, p.Interval(snap(), b.sb.Now()))
	_, err = b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	require.Equal(t, 3*time.Minute, p.Interval(snap(), b.sb.Now()), "the next milestone is 11 days away")

	_, err = poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Overdue: time.Hour, DueSoon: time.Minute})
	require.ErrorContains(t, err, "Overdue ≤ DueSoon ≤ Interval")
}

// Every property omq created is tracked from its property_created outcome.
func TestFollowerTracksCreatedProperties(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f, err := poller.NewFollower(ctx, poller.FollowerOptions{JS: b.js, Topology: b.top, Store: b.store})
	require.NoError(t, err)
	require.NoError(t, f.Start(ctx))
	defer f.Stop(ctx)
	tx := b.seed(t, "standard")
	_, err = events.PublishOutcome(ctx, b.js, b.top, events.Outcome{ID: "property_created:req-1", Kind: events.OutcomePropertyCreated,
		TransactionID: tx, PropertyID: 42})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		tr, err := b.store.Get(ctx, tx)
		return err == nil && tr.PropertyID == 42 && tr.Source == poller.SourceCreated
	}, 5*time.Second, 5*time.Millisecond)
	byPID, err := b.store.ByPropertyID(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, tx, byPID.TransactionID)
}

// A property OpenMoove answers 404 for (a restarted sandbox, a property
// deleted there) is marked gone, so omq report stops presenting its last
// snapshot as today's truth; a good poll clears the mark.
func TestPollMarksAPropertyGoneFromOpenMoove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const missing = "66666666-6666-4666-8666-666666666666"
	_, err := b.store.Track(ctx, missing, 7, poller.SourceCreated, time.Now())
	require.NoError(t, err)
	p := b.poller(t, time.Hour)

	tr, err := b.store.Get(ctx, missing)
	require.NoError(t, err)
	require.Error(t, p.Poll(ctx, tr))
	tr, err = b.store.Get(ctx, missing)
	require.NoError(t, err)
	require.False(t, tr.GoneSince.IsZero(), "a 404 marks it gone")
	first := tr.GoneSince
	require.Error(t, p.Poll(ctx, tr))
	tr, err = b.store.Get(ctx, missing)
	require.NoError(t, err)
	require.Equal(t, first, tr.GoneSince, "gone since the first 404, not the last")

	tx := b.seed(t, "standard")
	_, err = b.store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
	require.NoError(t, err)
	tr, err = b.store.Get(ctx, tx)
	require.NoError(t, err)
	tr.GoneSince = time.Now()
	require.NoError(t, p.Poll(ctx, tr))
	tr, err = b.store.Get(ctx, tx)
	require.NoError(t, err)
	require.True(t, tr.GoneSince.IsZero(), "a good poll clears the mark")
}
