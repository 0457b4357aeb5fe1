package omqtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/omqtest"
)

// TestRawHostileMessagesAreDeadLettered publishes, straight to NATS, what
// no edge would let through — malformed JSON, wrong shapes, NUL bytes,
// invalid UTF-8, huge bodies, ids that would break a KV key or an API path
// — on every subject a worker consumes. The workers trust nothing: each
// message is dead-lettered once with a reason, none is dropped, none is
// retried forever, and nothing is left pending.
func TestRawHostileMessagesAreDeadLettered(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithConfig(func(c *omqtest.Config) { c.WebhookSecrets = []string{"whsec-test"} }))
	top := omq.Topology
	ev := top.EventSubject("offer_accepted")
	cmd := top.CreatePropertySubject()
	wh := top.WebhookSubject("property.created")
	whm := top.WebhookSubject("property.milestone.updated")
	good := `"first_name":"Jane","last_name":"Doe","email":"jane@example.com","phone_number":"07700900123","property_address":"1 High Street","property_postcode":"SW1A 1AA","estate_agent_email":"agent@agency.example"`
	huge := strings.Repeat("x", 900_000)
	cases := []hostile{
		{"ev not json", ev, "not json", ""},
		{"ev empty", ev, "", ""},
		{"ev array", ev, `[{"type":"offer_accepted","transaction_id":"tx"}]`, ""},
		{"ev null", ev, "null", ""},
		{"ev numbers for strings", ev, `{"type":1,"transaction_id":2}`, ""},
		{"ev unknown field", ev, `{"type":"offer_accepted","transaction_id":"tx","x":1}`, ""},
		{"ev raw NUL", ev, "{\"type\":\"offer_accepted\",\"transaction_id\":\"t\x00\"}", ""},
		{"ev invalid UTF-8", ev, "{\"type\":\"offer_accepted\",\"transaction_id\":\"t\xff\"}", ""},
		{"ev tx ..", ev, `{"type":"offer_accepted","transaction_id":".."}`, ""},
		{"ev tx slash", ev, `{"type":"offer_accepted","transaction_id":"../clients"}`, ""},
		{"ev tx dots", ev, `{"type":"offer_accepted","transaction_id":"a.b"}`, ""},
		{"ev tx wildcard", ev, `{"type":"offer_accepted","transaction_id":">"}`, ""},
		{"ev tx star", ev, `{"type":"offer_accepted","transaction_id":"*"}`, ""},
		{"ev tx long", ev, `{"type":"offer_accepted","transaction_id":"` + strings.Repeat("a", 300) + `"}`, ""},
		{"ev id space", ev, `{"id":"a b","type":"offer_accepted","transaction_id":"tx"}`, ""},
		{"ev huge", ev, `{"type":"offer_accepted","transaction_id":"tx","actor":"` + huge + `"}`, ""},
		{"cmd not json", cmd, "not json", ""},
		{"cmd empty", cmd, "", ""},
		{"cmd array", cmd, `[{` + good + `}]`, ""},
		{"cmd numbers", cmd, `{"first_name":1}`, ""},
		{"cmd missing fields", cmd, `{"first_name":"x"}`, ""},
		{"cmd request_id space", cmd, `{` + good + `,"request_id":"a b"}`, ""},
		{"cmd request_id wildcard", cmd, `{` + good + `,"request_id":"a.*.>"}`, ""},
		{"cmd request_id NUL", cmd, `{` + good + `,"request_id":"a\u0000"}`, ""},
		{"cmd request_id long", cmd, `{` + good + `,"request_id":"` + strings.Repeat("r", 300) + `"}`, ""},
		{"cmd huge", cmd, `{` + good + `,"request_id":"` + huge + `"}`, ""},
		{"cmd huge Nats-Msg-Id", cmd, `{` + good + `}`, strings.Repeat("m", 20_000)},
		{"cmd Nats-Msg-Id wildcard", cmd, `{` + good + `}`, "a.*.>"},
		{"wh not json", wh, "not json", ""},
		{"wh empty", wh, "", ""},
		{"wh array", wh, `[1]`, ""},
		{"wh no event", wh, `{"data":{}}`, ""},
		{"wh tx ..", wh, `{"event":"property.created","data":{"property_id":1,"property":{"transactionId":".."}}}`, ""},
		{"wh tx wildcard", wh, `{"event":"property.created","data":{"property_id":1,"property":{"transactionId":"a.>"}}}`, ""},
		{"wh tx long", wh, `{"event":"property.created","data":{"property_id":1,"property":{"transactionId":"` + strings.Repeat("a", 300) + `"}}}`, ""},
		{"wh milestone strings", whm, `{"event":"property.milestone.updated","data":{"property_id":"1","milestone":{"id":"x"}}}`, ""},
		{"wh milestone unknown property", whm, `{"event":"property.milestone.updated","data":{"property_id":987654,"milestone":{"id":5,"name":"x"}}}`, ""},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for i, c := range cases {
		m := &nats.Msg{Subject: c.subject, Data: []byte(c.body), Header: nats.Header{"X-Case": []string{c.name}}}
		m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("hostile-%d", i))
		if c.msgID != "" {
			m.Header.Set(nats.MsgIdHdr, c.msgID)
		}
		_, err := omq.JS.PublishMsg(ctx, m)
		require.NoError(t, err, c.name)
	}
	var letters []deadletter.Letter
	require.Eventually(t, func() bool {
		ls, err := omq.DeadLetters.List(ctx, deadletter.Filter{})
		letters = ls
		return err == nil && len(ls) >= len(cases)
	}, 25*time.Second, 20*time.Millisecond, "every hostile message dead-lettered; got %d: %v", len(letters), caseNames(letters))
	seen := map[string]int{}
	for _, l := range letters {
		name := l.Header.Get("X-Case")
		seen[name]++
		require.NotEmpty(t, l.Header.Get(deadletter.HeaderError), "%s: a reason", name)
		require.Equal(t, "permanent", l.Header.Get(deadletter.HeaderErrorKind), "%s: %s", name, l.Header.Get(deadletter.HeaderError))
		require.Equal(t, len(l.Data), len(casesBody(cases, name)), "%s: the body is kept", name)
	}
	for _, c := range cases {
		require.Equal(t, 1, seen[c.name], "%s dead-lettered once", c.name)
	}
	// Nothing left pending or in flight: no endless retry.
	for _, stream := range []string{top.EventsStream(), top.CommandsStream(), top.WebhooksStream()} {
		st, err := omq.JS.Stream(ctx, stream)
		require.NoError(t, err)
		for cons := range st.ListConsumers(ctx).Info() {
			require.Eventually(t, func() bool {
				info, err := st.Consumer(ctx, cons.Name)
				if err != nil {
					return false
				}
				ci := info.CachedInfo()
				if ci2, err := info.Info(ctx); err == nil {
					ci = ci2
				}
				return ci.NumPending == 0 && ci.NumAckPending == 0
			}, 10*time.Second, 20*time.Millisecond, "%s/%s drained", stream, cons.Name)
		}
	}
}

type hostile struct{ name, subject, body, msgID string }

func casesBody(cases []hostile, name string) string {
	for _, c := range cases {
		if c.name == name {
			return c.body
		}
	}
	return ""
}

func caseNames(ls []deadletter.Letter) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Header.Get("X-Case"))
	}
	return out
}
