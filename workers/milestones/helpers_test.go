package milestones_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "om_test_key"

type bundle struct {
	js      jetstream.JetStream
	nc      *nats.Conn
	top     streams.Topology
	sb      *sandbox.Server
	handler *milestones.Handler
	api     *openmoove.Client
	worker  workers.Config
}

type opts struct {
	cfg  func(*config.Config)
	wrap func(http.Handler) http.Handler // in front of the real sandbox
	log  *slog.Logger
}

// setup starts JetStream with omq's streams, a sandbox over real HTTP
// (rate limits off) and the milestone worker with time scaled down.
func setup(t testing.TB, o opts) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	sb, err := sandbox.New(sandbox.Config{RateLimit: -1})
	require.NoError(t, err)
	var base string
	if o.wrap != nil {
		hs := httptest.NewServer(o.wrap(sb.Handler()))
		t.Cleanup(hs.Close)
		base = hs.URL + "/api/v1/partners/"
	} else {
		require.NoError(t, sb.Start(ctx))
		base = sb.URL()
	}
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	api, err := openmoove.New(openmoove.Config{BaseURL: base, APIKey: key})
	require.NoError(t, err)
	t.Cleanup(api.CloseIdleConnections)

	cfg := config.Defaults()
	cfg.Concurrency, cfg.AckWait, cfg.MaxDeliver, cfg.MaxFailures = 8, 3*time.Second, 10, 3
	cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.InProcessRetries, cfg.InProcessRetryWindow = 0, 50*time.Millisecond
	cfg.PauseMin, cfg.PauseMax = 100*time.Millisecond, 200*time.Millisecond
	cfg.BreakerTransient = 1000
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	m, err := events.LoadMilestoneMap(cfg.MilestoneMap)
	require.NoError(t, err)
	w, err := milestones.New(ctx, milestones.Options{Worker: cfg.Worker(), JS: s.JS, API: api, Topology: top,
		Map: m, Mode: cfg.MilestoneMode, Address: cfg.OutcomeAddress, Grace: cfg.TransactionGrace, Logger: o.log, Metrics: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(c))
	})
	return &bundle{js: s.JS, nc: s.Conn, top: top, sb: sb, handler: w.Handler, api: api, worker: cfg.Worker()}
}

func (b *bundle) property(t testing.TB, saleMethod string) string {
	t.Helper()
	req := openmoove.CreateClientRequest{FirstName: "Ada", LastName: "Byron", Email: "ada@example.com",
		PhoneNumber: "+447700900001", PropertyAddress: "7 Market Street, Manchester", PropertyPostcode: "M1 2AB",
		EstateAgentEmail: "agent@example.com", SaleMethod: saleMethod}
	if saleMethod != "standard" {
		req.AuctioneerEmail = "auctions@example.com"
	}
	tx, err := b.sb.SeedProperty(key, req)
	require.NoError(t, err)
	return tx
}

// publish sends raw bytes as any NATS client would.
func (b *bundle) publish(t testing.TB, typ, msgID string, body string) {
	t.Helper()
	m := &nats.Msg{Subject: b.top.EventSubject(typ), Data: []byte(body), Header: nats.Header{}}
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	_, err := b.js.PublishMsg(context.Background(), m)
	require.NoError(t, err)
}

// replay publishes body as omq dlq replay would for the message whose
// idempotency key is key (dead letter 3).
func (b *bundle) replay(t testing.TB, typ, body, key string) {
	t.Helper()
	m := &nats.Msg{Subject: b.top.EventSubject(typ), Data: []byte(body), Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, key+":replay:3")
	m.Header.Set(deadletter.HeaderOriginalMsgID, key)
	_, err := b.js.PublishMsg(context.Background(), m)
	require.NoError(t, err)
}

func (b *bundle) event(t testing.TB, ev events.Event) {
	t.Helper()
	b.publish(t, ev.Type, ev.ID, fmt.Sprintf(`{"id":%q,"type":%q,"transaction_id":%q,"actor":%q}`, ev.ID, ev.Type, ev.TransactionID, ev.Actor))
}

func (b *bundle) completed(t testing.TB, tx, name string) bool {
	t.Helper()
	p, ok := b.sb.Lookup(tx)
	require.True(t, ok)
	for _, m := range p.Milestones {
		if m.Name == name {
			return m.Completed
		}
	}
	t.Fatalf("no milestone %q", name)
	return false
}

// calls counts the sandbox's journal entries whose method and path match.
func (b *bundle) calls(method, pathPart string) int {
	n := 0
	for _, r := range b.sb.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

// idle waits until the events stream is empty (the work queue drained).
func (b *bundle) idle(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool {
		st, err := b.js.Stream(context.Background(), b.top.EventsStream())
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	}, 20*time.Second, 10*time.Millisecond)
}

func (b *bundle) outcomes(t testing.TB) []events.Outcome {
	t.Helper()
	st, err := b.js.Stream(context.Background(), b.top.OutcomesStream())
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	var out []events.Outcome
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		require.NoError(t, err)
		o, err := events.ParseOutcome(m.Data)
		require.NoError(t, err)
		out = append(out, o)
	}
	return out
}

// deadLetter waits for the dead letter of a message first published on the
// event subject of typ and returns its Omq-Error.
func (b *bundle) deadLetter(t testing.TB, typ string) (reason, kind string) {
	t.Helper()
	st, err := b.js.Stream(context.Background(), b.top.DLQStream())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		m, err := st.GetLastMsgForSubject(context.Background(), b.top.DLQSubject(b.top.EventSubject(typ)))
		if err != nil {
			return false
		}
		reason, kind = m.Header.Get(deadletter.HeaderError), m.Header.Get(deadletter.HeaderErrorKind)
		return true
	}, 20*time.Second, 10*time.Millisecond)
	return reason, kind
}
