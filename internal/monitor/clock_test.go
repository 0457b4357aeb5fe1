package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// With the monitor on the API client's clock (as omq run sets it), moving
// the sandbox clock moves the judgement: the local clock never sees the due
// date come or the invitation age, yet each alert fires once, and
// days_until_due counts from OpenMoove's time.
func TestAlertsFollowTheAPIsClock(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1}) // starts at the local time
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)
	b := &bundle{js: s.JS, top: top, sb: sb, api: api, store: store}
	tx := b.seed(t) // Instruction due in 3 days; the agent invited now
	_, err = store.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
	require.NoError(t, err)
	p, err := poller.New(ctx, poller.Config{Store: store, API: api, JS: s.JS, Topology: top, Now: api.Now})
	require.NoError(t, err)
	m, err := monitor.New(ctx, monitor.Config{Store: store, API: api, JS: s.JS, Topology: top, InvitationDays: 1, Now: api.Now})
	require.NoError(t, err)
	// advance moves the sandbox clock; the next poll's answers carry it.
	advance := func(d time.Duration) {
		sb.AdvanceClock(d)
		tr, err := store.Get(ctx, tx)
		require.NoError(t, err)
		require.NoError(t, p.Poll(ctx, tr))
	}
	check := func() int {
		n, err := m.Check(ctx)
		require.NoError(t, err)
		return n
	}

	advance(0)
	require.Zero(t, check(), "nothing due, nobody waiting a day")

	advance(48 * time.Hour) // Instruction due in a day; the agent invited two days ago
	require.Equal(t, 2, check())
	require.Zero(t, check(), "once")
	require.Equal(t, map[string]int{monitor.AlertAtRisk: 1, monitor.AlertInvitationPending: 1}, b.alerts(t))
	o := lastOutcome(t, b, monitor.AlertAtRisk)
	require.EqualValues(t, 0, o.Data["days_until_due"], "due in under a day by OpenMoove's clock")
	require.WithinDuration(t, sb.Now(), o.OccurredAt, 2*time.Second)
	require.EqualValues(t, 2, lastOutcome(t, b, monitor.AlertInvitationPending).Data["days_pending"])
	// The report agrees, with no API call: the poll recorded the offset.
	all, err := store.List(ctx)
	require.NoError(t, err)
	now := monitor.APINow(all, time.Now())
	require.WithinDuration(t, sb.Now(), now, 2*time.Second)
	require.Equal(t, monitor.StateAtRisk, monitor.Portfolio(all, now, monitor.DefaultAtRiskWithin).Properties[0].State)

	advance(48 * time.Hour) // Instruction a day overdue; the reminder two days old
	require.Equal(t, 2, check())
	require.Zero(t, check(), "once")
	require.Equal(t, map[string]int{monitor.AlertAtRisk: 1, monitor.AlertOverdue: 1, monitor.AlertInvitationPending: 2}, b.alerts(t))
	require.EqualValues(t, -1, lastOutcome(t, b, monitor.AlertOverdue).Data["days_until_due"],
		"by the local clock it would be due in 2 days")
	require.EqualValues(t, 4, lastOutcome(t, b, monitor.AlertInvitationPending).Data["days_pending"])
}

// Before any poll there is no offset to apply: the report judges by the
// local clock.
func TestAPINowWithoutPollsIsLocal(t *testing.T) {
	t.Parallel()
	local := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	require.Equal(t, local, monitor.APINow(nil, local))
	require.Equal(t, local, monitor.APINow([]*poller.Tracked{{TransactionID: "x"}}, local))
	polled := []*poller.Tracked{
		{Snapshot: &poller.Snapshot{PolledAt: local.Add(time.Hour), ClockOffset: 2 * time.Hour}},
		{Snapshot: &poller.Snapshot{PolledAt: local.Add(49 * time.Hour), ClockOffset: 48 * time.Hour}},
	}
	require.Equal(t, local.Add(48*time.Hour), monitor.APINow(polled, local), "the latest poll's offset")
}
