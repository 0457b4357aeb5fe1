package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "om_test_key"

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

type bundle struct {
	js    jetstream.JetStream
	top   streams.Topology
	sb    *sandbox.Server
	api   *openmoove.Client
	store *poller.Store
	// overdue, atRisk and onTrack are arranged by the sandbox clock.
	overdue, atRisk, onTrack string
}

// setup arranges, with the sandbox clock, one property overdue, one at risk
// and one on track, all tracked and polled once.
func setup(t *testing.T) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1, Now: func() time.Time { return t0 }})
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)
	b := &bundle{js: s.JS, top: top, sb: sb, api: api, store: store}

	// Instruction is due three days after creation.
	b.overdue = b.seed(t) // t0: due t0+3d, overdue at t0+4d
	sb.AdvanceClock(48 * time.Hour)
	b.atRisk = b.seed(t) // t0+2d: due t0+5d, one day away at t0+4d
	sb.AdvanceClock(48 * time.Hour)
	b.onTrack = b.seed(t) // t0+4d: due t0+7d, three days away
	for _, tx := range []string{b.overdue, b.atRisk, b.onTrack} {
		_, err := store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
		require.NoError(t, err)
	}
	p, err := poller.New(context.Background(), poller.Config{Store: store, API: api, JS: s.JS, Topology: top, Now: sb.Now})
	require.NoError(t, err)
	n, err := p.PollDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	return b
}

func (b *bundle) seed(t *testing.T) string {
	t.Helper()
	tx, err := b.sb.SeedProperty(key, openmoove.CreateClientRequest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		PhoneNumber: "+447700900001", PropertyAddress: "1 Test Street", PropertyPostcode: "SW1A 1AA", EstateAgentEmail: "agent@example.com"})
	require.NoError(t, err)
	return tx
}

func (b *bundle) alerts(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	st, err := b.js.Stream(ctx, b.top.OutcomesStream())
	require.NoError(t, err)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(b.top.OutcomeSubject("alert.>")))
	require.NoError(t, err)
	out := map[string]int{}
	for subj, n := range info.State.Subjects {
		out[subj[len(b.top.OutcomeSubject("")):]] = int(n)
	}
	return out
}

func TestReportCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	all, err := b.store.List(context.Background())
	require.NoError(t, err)
	rep := monitor.Portfolio(all, b.sb.Now(), 48*time.Hour)
	require.Equal(t, 1, rep.Overdue)
	require.Equal(t, 1, rep.AtRisk)
	require.Equal(t, 1, rep.OnTrack)
	require.Equal(t, 0, rep.NotPolled)
	byTx := map[string]monitor.PropertyReport{}
	for _, p := range rep.Properties {
		byTx[p.TransactionID] = p
		require.Equal(t, openmoove.MilestoneInstruction, p.Current)
		require.Equal(t, 8, p.Milestones)
		require.Zero(t, p.CompletionPct)
	}
	require.Equal(t, monitor.StateOverdue, byTx[b.overdue].State)
	require.Equal(t, 1, byTx[b.overdue].Overdue)
	require.Equal(t, monitor.StateAtRisk, byTx[b.atRisk].State)
	require.Equal(t, 1, byTx[b.atRisk].AtRisk)
	require.Equal(t, monitor.StateOnTrack, byTx[b.onTrack].State)
	require.Equal(t, b.overdue, rep.Properties[0].TransactionID, "worst first")

	// Completing the overdue milestone puts the property back on track,
	// one eighth done, once the poller has seen it.
	_, err = b.sb.CompleteMilestone(b.overdue, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	tr, err := b.store.Get(context.Background(), b.overdue)
	require.NoError(t, err)
	p, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	require.NoError(t, p.Poll(context.Background(), tr))
	tr, err = b.store.Get(context.Background(), b.overdue)
	require.NoError(t, err)
	pr := monitor.Analyze(tr, b.sb.Now(), 48*time.Hour)
	require.Equal(t, monitor.StateOnTrack, pr.State)
	require.Equal(t, 12.5, pr.CompletionPct)
	require.Equal(t, openmoove.MilestoneLegalPack, pr.Current)
}

// Overdue and at-risk alerts go out once per milestone per day; a pending
// invitation once every InvitationDays.
func TestAlertsOncePerDay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	m, err := monitor.New(context.Background(), monitor.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	n, err := m.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	// The overdue property's professional was invited four days ago.
	require.Equal(t, map[string]int{monitor.AlertOverdue: 1, monitor.AlertAtRisk: 1, monitor.AlertInvitationPending: 1}, b.alerts(t))

	n, err = m.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the same day, nothing again")

	b.sb.AdvanceClock(25 * time.Hour) // the at-risk milestone is now overdue too
	n, err = m.Check(ctx)
	require.NoError(t, err)
	// Two overdue milestones for the new day, the on-track one now at risk;
	// the at-risk property's agent now waits three days; the first reminder
	// is only a day old.
	require.Equal(t, 4, n)
	require.Equal(t, map[string]int{monitor.AlertOverdue: 3, monitor.AlertAtRisk: 2, monitor.AlertInvitationPending: 2}, b.alerts(t))

	o := lastOutcome(t, b, monitor.AlertInvitationPending)
	require.Equal(t, b.atRisk, o.TransactionID)
	require.Equal(t, "agent@example.com", o.Data["email"])
	require.Equal(t, "estate_agent", o.Data["role"])
	require.Equal(t, "1 Test Street", o.Data["address"])

	b.sb.AdvanceClock(3 * 24 * time.Hour)
	_, err = m.Check(ctx)
	require.NoError(t, err)
	// Three days on, every invitation is reminded (again).
	require.Equal(t, 5, b.alerts(t)[monitor.AlertInvitationPending])
}

func lastOutcome(t *testing.T, b *bundle, kind string) events.Outcome {
	t.Helper()
	st, err := b.js.Stream(context.Background(), b.top.OutcomesStream())
	require.NoError(t, err)
	m, err := st.GetLastMsgForSubject(context.Background(), b.top.OutcomeSubject(kind))
	require.NoError(t, err)
	o, err := events.ParseOutcome(m.Data)
	require.NoError(t, err)
	return o
}

// A property gone from OpenMoove raises no alert from its last snapshot:
// nobody can act on a milestone the API no longer has.
func TestNoAlertsForAPropertyGoneFromOpenMoove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, tx := range []string{b.overdue, b.atRisk} {
		tr, err := b.store.Get(ctx, tx)
		require.NoError(t, err)
		tr.GoneSince = b.sb.Now()
		require.NoError(t, b.store.Save(ctx, tr))
	}
	m, err := monitor.New(ctx, monitor.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	n, err := m.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the overdue and at-risk properties are gone; the third is on track")
	require.Empty(t, b.alerts(t))
}
