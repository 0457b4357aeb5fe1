package webhooks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/webhooks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	key    = "om_test_key"
	secret = "whsec-test-secret"
)

type bundle struct {
	js    jetstream.JetStream
	top   streams.Topology
	sb    *sandbox.Server
	api   *openmoove.Client
	store *poller.Store
	logs  *testkit.Buffer
	hook  string               // the receiver's URL
	reg   *prometheus.Registry // the worker's metrics
}

// setup wires what omq run wires: the sandbox sends signed webhooks to the
// receiver over real HTTP, the receiver stores them, the worker handles them.
func setup(t *testing.T) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	mux := http.NewServeMux()
	_, err := webhookreceiver.Register(mux, webhookreceiver.Options{Secrets: []string{secret}, JS: s.JS, Topology: top, Logger: log})
	require.NoError(t, err)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1, WebhookURL: hs.URL + webhookreceiver.Path, WebhookSecret: secret, TimeScale: 0.001})
	store, err := poller.OpenStore(ctx, s.JS, top)
	require.NoError(t, err)

	cfg := config.Defaults()
	cfg.AckWait, cfg.RetryMin, cfg.RetryMax = 3*time.Second, 20*time.Millisecond, 100*time.Millisecond
	cfg.InProcessRetries, cfg.InProcessRetryWindow = 0, 50*time.Millisecond
	reg := prometheus.NewRegistry()
	w, err := webhooks.New(ctx, webhooks.Options{Worker: cfg.Worker(), MaxAge: cfg.WebhookMaxAge, JS: s.JS, API: api, Topology: top, Logger: log,
		Metrics: reg, Now: sb.Now})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	return &bundle{js: s.JS, top: top, sb: sb, api: api, store: store, logs: logs, hook: hs.URL + webhookreceiver.Path, reg: reg}
}

// create creates a property on the sandbox and waits until the webhooks
// of its creation (property.created, one property.milestone.created per
// milestone) are handled, so what a test sends next is not raced by them.
func (b *bundle) create(t *testing.T) (string, int64) {
	t.Helper()
	before := len(b.msgs(t, b.top.WebhooksStream(), ""))
	resp, err := b.api.CreateClient(context.Background(), &openmoove.CreateClientRequest{FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@example.com", PhoneNumber: "+447700900001", PropertyAddress: "1 Test Street", PropertyPostcode: "SW1A 1AA",
		EstateAgentEmail: "agent@example.com"})
	require.NoError(t, err)
	p, ok := b.sb.Lookup(resp.Property.TransactionID)
	require.True(t, ok)
	require.Eventually(t, func() bool { return len(b.msgs(t, b.top.WebhooksStream(), "")) == before+1+len(p.Milestones) },
		5*time.Second, 5*time.Millisecond, "the creation's webhooks are stored")
	b.drained(t)
	return resp.Property.TransactionID, resp.PropertyID
}

func (b *bundle) msgs(t *testing.T, stream, subject string) []jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	st, err := b.js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err == nil && (subject == "" || m.Subject == subject) {
			out = append(out, *m)
		}
	}
	return out
}

func (b *bundle) outcomes(t *testing.T, kind string) []events.Outcome {
	var out []events.Outcome
	for _, m := range b.msgs(t, b.top.OutcomesStream(), b.top.OutcomeSubject(kind)) {
		o, err := events.ParseOutcome(m.Data)
		require.NoError(t, err)
		out = append(out, o)
	}
	return out
}

// A property.created webhook tracks the property; a milestone completed on
// OpenMoove (the sandbox's admin call) comes back as a webhook that updates
// the milestone cache and publishes the same milestone_completed outcome
// the poller would; the next poll announces nothing more.
func TestCreatedThenMilestoneCompleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tx, pid := b.create(t)
	require.Eventually(t, func() bool {
		tr, err := b.store.ByPropertyID(ctx, pid)
		return err == nil && tr.TransactionID == tx && tr.Source == poller.SourceWebhook
	}, 5*time.Second, 5*time.Millisecond, "tracked from property.created")

	p, err := poller.New(context.Background(), poller.Config{Store: b.store, API: b.api, JS: b.js, Topology: b.top, Now: b.sb.Now})
	require.NoError(t, err)
	_, err = p.PollDue(ctx) // the baseline
	require.NoError(t, err)
	ms, err := b.api.Milestones(ctx, tx)
	require.NoError(t, err)
	// The milestone worker's cache, as it keeps it.
	cacheKV, err := b.js.KeyValue(ctx, b.top.MilestonesBucket())
	require.NoError(t, err)
	cached, _ := json.Marshal(map[string]any{"fetched_at": time.Now(), "milestones": []map[string]any{
		{"id": ms[0].ID, "name": ms[0].Name, "completed": false}}})
	_, err = cacheKV.Put(ctx, tx, cached)
	require.NoError(t, err)

	m, err := b.sb.CompleteMilestone(tx, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	var got []events.Outcome
	require.Eventually(t, func() bool {
		got = b.outcomes(t, poller.OutcomeMilestoneCompleted)
		return len(got) == 1
	}, 5*time.Second, 5*time.Millisecond)
	want := poller.MilestoneOutcome(tx, pid, "", poller.FromAPI(m), nil, poller.ViaPoll, time.Now())
	require.Equal(t, want.ID, got[0].ID, "the poller would publish the same id")
	require.Equal(t, poller.ViaWebhook, got[0].Data["source"])
	require.Len(t, b.msgs(t, b.top.WebhooksStream(), b.top.WebhookSubject(sandbox.EventMilestoneUpdated)), 1)

	require.Eventually(t, func() bool {
		e, err := cacheKV.Get(ctx, tx)
		return err == nil && strings.Contains(string(e.Value()), `"completed":true`)
	}, 5*time.Second, 5*time.Millisecond, "the milestone cache learns the completion")
	require.Eventually(t, func() bool {
		tr, err := b.store.Get(ctx, tx)
		return err == nil && tr.Snapshot.Milestone(m.ID).Completed
	}, 5*time.Second, 5*time.Millisecond, "the snapshot learns it too")

	tr, err := b.store.Get(ctx, tx)
	require.NoError(t, err)
	require.NoError(t, p.Poll(ctx, tr))
	require.Len(t, b.outcomes(t, poller.OutcomeMilestoneCompleted), 1, "the next poll does not announce it again")
}

// An event omq does not handle is acknowledged, stays in the stream, is
// logged once and never dead-lettered.
func TestUnknownEventStaysAndIsLoggedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, body := range []string{`{"event":"property.exploded","data":{"n":1}}`, `{"event":"property.exploded","data":{"n":2}}`} {
		_, err := b.js.Publish(ctx, b.top.WebhookSubject("property.exploded"), []byte(body))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		c, err := b.js.Consumer(ctx, b.top.WebhooksStream(), webhooks.Name)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= 2 && info.NumAckPending == 0
	}, 5*time.Second, 5*time.Millisecond)
	require.Len(t, b.msgs(t, b.top.WebhooksStream(), b.top.WebhookSubject("property.exploded")), 2, "still in the stream")
	require.Empty(t, b.msgs(t, b.top.DLQStream(), ""), "not dead-lettered")
	require.Equal(t, 1, strings.Count(b.logs.String(), "webhook event omq does not handle"))
}
