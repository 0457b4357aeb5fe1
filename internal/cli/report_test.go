package cli

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
)

// omq track / untrack / report against a NATS with the TRACKING bucket; the
// snapshots are written as the poller writes them.
func TestTrackUntrackReport(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t, natstest.Listen())
	ctx := context.Background()
	const (
		late  = "11111111-1111-4111-8111-111111111111"
		soon  = "22222222-2222-4222-8222-222222222222"
		fine  = "33333333-3333-4333-8333-333333333333"
		fresh = "44444444-4444-4444-8444-444444444444"
	)
	code, out, errOut := runOMQ("track", late, soon, fine, fresh, "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, late+" tracking")
	code, out, _ = runOMQ("track", late, "--nats-url", s.AuthURL())
	require.Equal(t, 0, code)
	require.Contains(t, out, "already tracked")

	at := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)
	snap := func(tx string, due time.Time, done bool) {
		tr, err := store.Get(ctx, tx)
		require.NoError(t, err)
		doneAt := at.Add(-time.Hour)
		tr.Snapshot = &poller.Snapshot{PolledAt: at, Address: "1 " + tx[:4] + " Street", Milestones: []poller.Milestone{
			{ID: 1, Name: "Instruction", Order: 1, Completed: true, CompletedAt: &doneAt, DueDate: at.Add(-48 * time.Hour)},
			{ID: 2, Name: "Legal Pack Preparation", Order: 2, Completed: done, DueDate: due},
			{ID: 3, Name: "Completion", Order: 3, DueDate: at.Add(90 * 24 * time.Hour)},
			{ID: 4, Name: "Exchange of Contracts", Order: 4, DueDate: at.Add(60 * 24 * time.Hour)},
		}}
		require.NoError(t, store.Save(ctx, tr))
	}
	snap(late, at.Add(-time.Hour), false)
	snap(soon, at.Add(24*time.Hour), false)
	snap(fine, at.Add(10*24*time.Hour), false)

	code, out, errOut = runOMQ("report", "--at", at.Format(time.RFC3339), "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "4 properties: 1 on track, 1 at risk, 1 overdue, 1 not polled yet")
	require.Regexp(t, `overdue\s+`+late+`\s+1 1111 Street\s+25%\s+Legal Pack Preparation\s+2025-06-01\s+1\s+0`, out)

	code, out, errOut = runOMQ("report", "--json", "--at", at.Format(time.RFC3339), "--at-risk-within", "240h", "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	var rep monitor.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, []int{0, 2, 1, 1}, []int{rep.OnTrack, rep.AtRisk, rep.Overdue, rep.NotPolled}, "a wider window puts the ten-day milestone at risk")
	require.Equal(t, late, rep.Properties[0].TransactionID)
	require.Equal(t, 25.0, rep.Properties[0].CompletionPct)

	code, out, _ = runOMQ("untrack", fresh, "--nats-url", s.AuthURL())
	require.Equal(t, 0, code)
	require.Contains(t, out, fresh+" untracked")
	code, out, _ = runOMQ("untrack", fresh, "--nats-url", s.AuthURL())
	require.Equal(t, 0, code)
	require.Contains(t, out, "was not tracked")
	_, err = store.Get(ctx, fresh)
	require.ErrorIs(t, err, poller.ErrNotTracked)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"track", "456"}, "not a transaction UUID"},
		{[]string{"track"}, "requires at least 1 arg"},
		{[]string{"report", "--at", "yesterday"}, "RFC 3339"},
	} {
		code, _, errOut := runOMQ(append(c.args, "--nats-url", s.AuthURL())...)
		require.Equal(t, 2, code, c.args)
		require.Contains(t, errOut, c.want)
	}
}

// An empty portfolio says how to fill it; one property is "1 property".
func TestReportEmptyAndSingular(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t, natstest.Listen())
	code, out, errOut := runOMQ("report", "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "no tracked properties: omq follows those it creates; add others with omq track <transaction id>\n", out)

	const tx = "55555555-5555-4555-8555-555555555555"
	store, err := poller.OpenStore(context.Background(), s.JS, top)
	require.NoError(t, err)
	_, err = store.Track(context.Background(), tx, 0, poller.SourceCLI, time.Now())
	require.NoError(t, err)
	code, out, errOut = runOMQ("report", "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "\n1 property: 0 on track")
}

// A property the poller found gone from OpenMoove (after a sandbox restart,
// say) is reported as gone, not by its last snapshot as if alive, and is
// counted apart.
func TestReportShowsPropertiesGoneFromOpenMoove(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t, natstest.Listen())
	ctx := context.Background()
	const gone = "77777777-7777-4777-8777-777777777777"
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)
	_, err = store.Track(ctx, gone, 3, poller.SourceCreated, time.Now())
	require.NoError(t, err)
	tr, err := store.Get(ctx, gone)
	require.NoError(t, err)
	at := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	tr.Snapshot = &poller.Snapshot{PolledAt: at.Add(-time.Hour), Address: "9 Gone Road", Milestones: []poller.Milestone{
		{ID: 1, Name: "Instruction", Order: 1, DueDate: at.Add(-48 * time.Hour)},
	}}
	tr.GoneSince = at
	require.NoError(t, store.Save(ctx, tr))

	code, out, errOut := runOMQ("report", "--at", at.Format(time.RFC3339), "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `(?m)^gone\s+`+gone+`\s+9 Gone Road\s+-\s+\(gone from OpenMoove since 2025-06-01\)`, out)
	require.Contains(t, out, "1 property: 0 on track, 0 at risk, 0 overdue, 0 not polled yet, 1 gone from OpenMoove")
	require.Contains(t, out, "omq untrack "+gone)

	code, out, errOut = runOMQ("report", "--json", "--at", at.Format(time.RFC3339), "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)
	var rep monitor.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, 1, rep.Gone)
	require.Equal(t, 0, rep.Overdue, "a gone property's stale snapshot is not overdue work")
	require.Equal(t, monitor.StateGone, rep.Properties[0].State)
}
