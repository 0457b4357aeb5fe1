package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/webhooks"
)

// A fresh "completed" webhook applies; a replay of an old body (2019)
// saying "not completed" is acknowledged, counted, logged and changes
// nothing: the milestone cache and the snapshot still equal the API.
func TestOldReplayChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx, pid := b.prime(t)
	m, err := b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.cacheState(t, tx)[m.ID] }, 5*time.Second, 5*time.Millisecond, "the fresh webhook applies")

	old := milestoneBody(pid, m, false, time.Date(2019, 3, 1, 9, 0, 0, 0, time.UTC))
	require.Equal(t, "stored", b.post(t, old))
	b.drained(t)

	require.Equal(t, b.apiState(t, tx), b.cacheState(t, tx), "the cache equals the API")
	require.True(t, b.snapshotState(t, tx)[m.ID], "the snapshot keeps the completion")
	require.Empty(t, b.outcomes(t, poller.OutcomeMilestoneReopened), "nothing announced")
	require.Empty(t, b.msgs(t, b.top.DLQStream(), ""), "not a failure: not dead-lettered")
	require.Equal(t, 1.0, b.counter(t, "omq_webhook_stale_total", "reason", webhooks.StaleTooOld))
	require.Equal(t, 1, strings.Count(b.logs.String(), "reason="+webhooks.StaleTooOld), b.logs.String())
	require.Contains(t, b.logs.String(), fmt.Sprintf("property_id=%d milestone_id=%d timestamp=2019-03-01T09:00:00Z", pid, m.ID))
}

// A re-serialised copy of an older webhook (same content, other bytes, so
// the stream's duplicate window does not catch it) changes nothing once a
// newer one was applied.
func TestReserialisedOlderWebhookChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx, _ := b.prime(t)
	m, err := b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.cacheState(t, tx)[m.ID] }, 5*time.Second, 5*time.Millisecond)
	completedBody := b.webhookBody(t, m.ID, true)

	b.sb.AdvanceClock(time.Minute) // a later second than the completion
	_, err = b.api.UpdateMilestone(ctx, tx, m.ID, openmoove.UpdateMilestoneRequest{Completed: false})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !b.cacheState(t, tx)[m.ID] }, 5*time.Second, 5*time.Millisecond, "the reopening applies")

	var v map[string]any
	require.NoError(t, json.Unmarshal(completedBody, &v))
	again, err := json.MarshalIndent(v, " ", "\t") // sorted keys, other whitespace
	require.NoError(t, err)
	require.NotEqual(t, completedBody, again)
	require.Equal(t, "stored", b.post(t, string(again)), "not caught as a duplicate")
	b.drained(t)

	require.Equal(t, b.apiState(t, tx), b.cacheState(t, tx), "the cache equals the API")
	require.False(t, b.snapshotState(t, tx)[m.ID], "the snapshot keeps the reopening")
	require.Equal(t, 1.0, b.counter(t, "omq_webhook_stale_total", "reason", webhooks.StaleSuperseded))
	require.Empty(t, b.msgs(t, b.top.DLQStream(), ""))
}

// Two webhooks of one milestone delivered out of order end in the newer
// state; delivered in order, both apply.
func TestOutOfOrderEndsInNewerState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx, pid := b.prime(t)
	ms, err := b.api.Milestones(context.Background(), tx)
	require.NoError(t, err)
	first, second := ms[0], ms[1]
	now := time.Now().UTC().Truncate(time.Second)

	require.Equal(t, "stored", b.post(t, milestoneBody(pid, first, true, now)))
	require.Eventually(t, func() bool { return b.cacheState(t, tx)[first.ID] }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "stored", b.post(t, milestoneBody(pid, first, false, now.Add(-time.Minute))))
	b.drained(t)
	require.True(t, b.cacheState(t, tx)[first.ID], "the newer (completed) state stands in the cache")
	require.True(t, b.snapshotState(t, tx)[first.ID], "and in the snapshot")

	require.Equal(t, "stored", b.post(t, milestoneBody(pid, second, true, now.Add(-time.Minute))))
	require.Eventually(t, func() bool { return b.cacheState(t, tx)[second.ID] }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "stored", b.post(t, milestoneBody(pid, second, false, now)))
	require.Eventually(t, func() bool { return !b.cacheState(t, tx)[second.ID] }, 5*time.Second, 5*time.Millisecond,
		"in order, the newer reopening applies")
	b.drained(t)
	require.False(t, b.snapshotState(t, tx)[second.ID])
	require.Equal(t, 1.0, b.counter(t, "omq_webhook_stale_total", "reason", webhooks.StaleSuperseded))
}

// Two webhooks of the same second that disagree cannot be ordered by
// their timestamps: the API's state stands, whichever arrives last.
func TestSameSecondDisagreementFollowsTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx, pid := b.prime(t)
	ms, err := b.api.Milestones(context.Background(), tx)
	require.NoError(t, err)
	m := ms[0] // open on the API
	at := time.Now().UTC().Truncate(time.Second)

	require.Equal(t, "stored", b.post(t, milestoneBody(pid, m, false, at)))
	b.drained(t)
	require.Equal(t, "stored", b.post(t, milestoneBody(pid, m, true, at)))
	b.drained(t)
	require.Equal(t, b.apiState(t, tx), b.cacheState(t, tx))
	require.False(t, b.snapshotState(t, tx)[m.ID])
}

// 1,000 distinct signed event names leave the event label of
// omq_webhook_events_total bounded to the known names and "other", and
// log at most 100 of them.
func TestEventLabelStaysBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 1000 {
		require.Equal(t, "stored", b.post(t, fmt.Sprintf(`{"event":"partner.custom%d","timestamp":%q,"data":{}}`, i, time.Now().UTC().Format(time.RFC3339))))
	}
	b.drained(t)
	events := map[string]bool{}
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "omq_webhook_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" {
					events[l.GetValue()] = true
				}
			}
		}
	}
	require.Equal(t, 1, len(events), "event labels") // not require.Len: it would print a thousand names
	require.True(t, events["other"])
	require.Equal(t, 1000.0, b.counter(t, "omq_webhook_events_total", "event", "other"))
	require.Equal(t, 100, strings.Count(b.logs.String(), "webhook event omq does not handle"))
}

// A milestone webhook that cannot be placed in time — no timestamp, an
// unparsable one, one far ahead of its receipt — is dead-lettered with the
// reason, and applies nothing.
func TestUntimedWebhookIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx, pid := b.prime(t)
	ms, err := b.api.Milestones(context.Background(), tx)
	require.NoError(t, err)
	m := ms[0]
	data := fmt.Sprintf(`"data":{"property_id":%d,"milestone":{"id":%d,"name":%q,"completed":true}}`, pid, m.ID, m.Name)
	bodies := map[string]string{
		"no timestamp":  `{"event":"property.milestone.updated",` + data + `}`,
		"not RFC 3339":  `{"event":"property.milestone.updated","timestamp":"yesterday",` + data + `}`,
		"an hour ahead": `{"event":"property.milestone.updated","timestamp":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `",` + data + `}`,
	}
	for _, body := range bodies {
		require.Equal(t, "stored", b.post(t, body))
	}
	b.drained(t)
	dead := b.msgs(t, b.top.DLQStream(), "")
	require.Len(t, dead, len(bodies))
	reasons := ""
	for _, d := range dead {
		reasons += d.Header.Get(deadletter.HeaderError) + "\n"
	}
	require.Contains(t, reasons, "has no timestamp")
	require.Contains(t, reasons, "timestamp is not RFC 3339")
	require.Contains(t, reasons, "ahead of its receipt (at most 5m0s accepted): check the clock")
	require.False(t, b.cacheState(t, tx)[m.ID], "nothing applied")
}

// A webhook's age counts to its receipt, not to when the worker reaches
// it: a backlog held by an API outage longer than the window still applies.
func TestAgeCountsToReceipt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx, pid := b.prime(t)
	ms, err := b.api.Milestones(ctx, tx)
	require.NoError(t, err)
	received := time.Now()
	h, err := webhooks.NewHandler(ctx, webhooks.Options{MaxAge: config.Defaults().WebhookMaxAge, JS: b.js, API: b.api, Topology: b.top,
		Now: func() time.Time { return received.Add(3 * time.Hour) }})
	require.NoError(t, err)
	body := milestoneBody(pid, ms[0], true, received.Add(-time.Minute))
	require.NoError(t, h.Handle(ctx, &workers.Message{Subject: b.top.WebhookSubject(sandbox.EventMilestoneUpdated),
		Data: []byte(body), Published: received}))
	require.True(t, b.cacheState(t, tx)[ms[0].ID])
}

// Replicas racing on one milestone end in the newest state: two handlers
// (two replicas) apply 20 webhooks of alternating state at once.
func TestRacingReplicasEndInNewestState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx, pid := b.prime(t)
	ms, err := b.api.Milestones(ctx, tx)
	require.NoError(t, err)
	var replicas []*webhooks.Handler
	for range 2 {
		h, err := webhooks.NewHandler(ctx, webhooks.Options{MaxAge: config.Defaults().WebhookMaxAge, JS: b.js, API: b.api, Topology: b.top, Now: b.sb.Now})
		require.NoError(t, err)
		replicas = append(replicas, h)
	}
	start := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		msg := &workers.Message{Subject: b.top.WebhookSubject(sandbox.EventMilestoneUpdated),
			Data: []byte(milestoneBody(pid, ms[0], i%2 == 0, start.Add(time.Duration(i)*time.Second))), Published: time.Now()}
		wg.Go(func() {
			// As redelivery would: a transient failure is tried again.
			for {
				err := replicas[i%2].Handle(ctx, msg)
				if err == nil || failure.KindOf(err) != failure.Transient {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.False(t, b.cacheState(t, tx)[ms[0].ID], "the newest (i=19) says not completed")
	require.False(t, b.snapshotState(t, tx)[ms[0].ID])
}

// prime creates a property, waits until the property.created webhook
// tracks it, caches its milestones as the milestone worker would and takes
// the poller's baseline snapshot.
func (b *bundle) prime(t *testing.T) (string, int64) {
	t.Helper()
	ctx := context.Background()
	tx, pid := b.create(t)
	require.Eventually(t, func() bool {
		_, err := b.store.ByPropertyID(ctx, pid)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond, "tracked from property.created")
	ms, err := b.api.Milestones(ctx, tx)
	require.NoError(t, err)
	var cached []map[string]any
	for _, m := range ms {
		cached = append(cached, map[string]any{"id": m.ID, "name": m.Name, "completed": m.Completed})
	}
	entry, _ := json.Marshal(map[string]any{"fetched_at": time.Now(), "milestones": cached})
	kv, err := b.js.KeyValue(ctx, b.top.MilestonesBucket())
	require.NoError(t, err)
	_, err = kv.Put(ctx, tx, entry)
	require.NoError(t, err)
	p, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	tr, err := b.store.Get(ctx, tx)
	require.NoError(t, err)
	require.NoError(t, p.Poll(ctx, tr))
	return tx, pid
}

func milestoneBody(pid int64, m openmoove.Milestone, completed bool, at time.Time) string {
	done := "null"
	if completed {
		done = `"` + at.UTC().Format(time.RFC3339) + `"`
	}
	return fmt.Sprintf(`{"event":%q,"timestamp":%q,"data":{"property_id":%d,"milestone":{"id":%d,"name":%q,"completed":%t,"completed_date":%s}}}`,
		sandbox.EventMilestoneUpdated, at.UTC().Format(time.RFC3339), pid, m.ID, m.Name, completed, done)
}

// post signs body and sends it to the receiver over HTTP; it returns the
// receiver's status ("stored" or "duplicate").
func (b *bundle) post(t *testing.T, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.hook, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(sandbox.SignatureHeader, sandbox.Sign(secret, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ Status string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Status
}

// drained waits until the worker has acknowledged every stored webhook.
func (b *bundle) drained(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	require.Eventually(t, func() bool {
		st, err := b.js.Stream(ctx, b.top.WebhooksStream())
		if err != nil {
			return false
		}
		si, err := st.Info(ctx)
		if err != nil {
			return false
		}
		c, err := b.js.Consumer(ctx, b.top.WebhooksStream(), webhooks.Name)
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.AckFloor.Stream >= si.State.LastSeq && ci.NumAckPending == 0 && ci.NumPending == 0
	}, 20*time.Second, 5*time.Millisecond, "every webhook acknowledged")
}

// webhookBody is the stored webhook that said milestone id was completed
// (or not).
func (b *bundle) webhookBody(t *testing.T, id int64, completed bool) []byte {
	t.Helper()
	for _, m := range b.msgs(t, b.top.WebhooksStream(), b.top.WebhookSubject(sandbox.EventMilestoneUpdated)) {
		var v struct {
			Data struct {
				Milestone struct {
					ID        int64 `json:"id"`
					Completed bool  `json:"completed"`
				} `json:"milestone"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Data, &v) == nil && v.Data.Milestone.ID == id && v.Data.Milestone.Completed == completed {
			return m.Data
		}
	}
	t.Fatalf("no stored webhook says milestone %d completed=%t", id, completed)
	return nil
}

func (b *bundle) cacheState(t *testing.T, tx string) map[int64]bool {
	t.Helper()
	kv, err := b.js.KeyValue(context.Background(), b.top.MilestonesBucket())
	require.NoError(t, err)
	e, err := kv.Get(context.Background(), tx)
	require.NoError(t, err)
	var v struct {
		Milestones []struct {
			ID        int64 `json:"id"`
			Completed bool  `json:"completed"`
		} `json:"milestones"`
	}
	require.NoError(t, json.Unmarshal(e.Value(), &v))
	out := map[int64]bool{}
	for _, m := range v.Milestones {
		out[m.ID] = m.Completed
	}
	return out
}

func (b *bundle) apiState(t *testing.T, tx string) map[int64]bool {
	t.Helper()
	ms, err := b.api.Milestones(context.Background(), tx)
	require.NoError(t, err)
	out := map[int64]bool{}
	for _, m := range ms {
		out[m.ID] = m.Completed
	}
	return out
}

func (b *bundle) snapshotState(t *testing.T, tx string) map[int64]bool {
	t.Helper()
	tr, err := b.store.Get(context.Background(), tx)
	require.NoError(t, err)
	require.NotNil(t, tr.Snapshot)
	out := map[int64]bool{}
	for _, m := range tr.Snapshot.Milestones {
		out[m.ID] = m.Completed
	}
	return out
}

// counter is the value of the counter name whose label has value.
func (b *bundle) counter(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// With OpenMoove's clock two days ahead of this host's, its webhooks are
// stamped two days "in the future", yet they apply: once the API client
// has an answer whose Date shows the offset, the receipt is placed on
// OpenMoove's clock.
func TestWebhooksOnASkewedAPIClockApply(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx, _ := b.prime(t)
	b.sb.AdvanceClock(48 * time.Hour)
	_, err := b.api.Products(context.Background()) // any call: its answer carries the API's Date
	require.NoError(t, err)
	m, err := b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.cacheState(t, tx)[m.ID] }, 5*time.Second, 5*time.Millisecond, "the webhook applies")
	b.drained(t)
	require.Empty(t, b.msgs(t, b.top.DLQStream(), ""), "not dead-lettered as ahead of its receipt")
	require.Zero(t, b.counter(t, "omq_webhook_stale_total", "reason", webhooks.StaleTooOld))
}
