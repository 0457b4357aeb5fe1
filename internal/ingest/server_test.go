package ingest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "s3cret-token"

type bundle struct {
	url  string
	js   jetstream.JetStream
	nats *natstest.Server
	top  streams.Topology
}

func setup(t *testing.T, maxBytes int) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	mux := http.NewServeMux()
	srv, err := ingest.Register(mux, ingest.Options{Token: token, MaxBytes: maxBytes, JS: s.JS, Topology: top, PublishTimeout: 2 * time.Second})
	require.NoError(t, err)
	require.NotNil(t, srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &bundle{url: hs.URL, js: s.JS, nats: s, top: top}
}

type answer struct {
	code int
	body map[string]any
	hdr  http.Header
}

func post(t *testing.T, url, auth, body string, hdr ...string) answer {
	t.Helper()
	return postAt(t, url+"/v1/events", auth, body, hdr...)
}

// send POSTs body to url with the Authorization auth ("" for none) and the
// header pairs hdr, and returns the answer, its body read.
func send(t *testing.T, url, auth, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func postAt(t *testing.T, url, auth, body string, hdr ...string) answer {
	t.Helper()
	resp, b := send(t, url, auth, body, hdr...)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "every answer is JSON: %s", b)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	return answer{code: resp.StatusCode, body: out, hdr: resp.Header}
}

// stored is how many events the events stream holds.
func (b *bundle) stored(t *testing.T) uint64 {
	t.Helper()
	return b.held(t, b.top.EventsStream())
}

// held is how many messages stream holds.
func (b *bundle) held(t *testing.T, stream string) uint64 {
	t.Helper()
	st, err := b.js.Stream(context.Background(), stream)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func TestEventsAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	good := `{"type":"legal_pack_completed","transaction_id":"tx-1"}`
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x"} {
		a := post(t, b.url, auth, good)
		require.Equal(t, http.StatusUnauthorized, a.code, "auth %q", auth)
		require.NotContains(t, a.body["error"], token, "the token never reaches an answer")
		require.Equal(t, `Bearer realm="omq"`, a.hdr.Get("WWW-Authenticate"))
	}
	require.Zero(t, b.stored(t))
	require.Equal(t, http.StatusAccepted, post(t, b.url, "bearer "+token, good).code, "the scheme is case-insensitive")
}

func TestEventsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 2048)
	auth := "Bearer " + token
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"malformed JSON", `{"type":`, []string{"body"}},
		{"not an object", `"hello"`, []string{"body"}},
		{"empty", ``, []string{"body"}},
		{"empty array", `[]`, []string{"body"}},
		{"missing transaction_id", `{"type":"offer_accepted"}`, []string{"transaction_id"}},
		{"unknown type", `{"type":"house_sold","transaction_id":"tx"}`, []string{"type"}},
		{"wrong field types", `{"type":1,"transaction_id":["x"],"occurred_at":"yesterday","data":"x","actor":5}`,
			[]string{"type", "transaction_id", "occurred_at", "data", "actor"}},
		{"unknown field", `{"type":"offer_accepted","transactionId":"tx"}`, []string{"transactionId", "transaction_id"}},
		{"array element", `[{"type":"offer_accepted","transaction_id":"tx"},{"type":"offer_accepted"}]`, []string{"[1].transaction_id"}},
	}
	for _, c := range cases {
		a := post(t, b.url, auth, c.body)
		require.Equal(t, http.StatusBadRequest, a.code, c.name)
		require.NotEmpty(t, a.body["error"], c.name)
		fe, _ := a.body["field_errors"].(map[string]any)
		got := make([]string, 0, len(fe))
		for k, v := range fe {
			got = append(got, k)
			require.Len(t, v, 1, "one error per field: %s %v", c.name, v)
		}
		require.ElementsMatch(t, c.fields, got, "%s: %v", c.name, fe)
	}
	big := `{"type":"offer_accepted","transaction_id":"tx","actor":"` + strings.Repeat("a", 3000) + `"}`
	a := post(t, b.url, auth, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code)
	require.Contains(t, a.body["error"], "2048 bytes")
	require.Zero(t, b.stored(t), "nothing of a refused request is published")
}

func TestEventsAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	auth := "Bearer " + token
	a := post(t, b.url, auth, `{"id":"evt-1","type":"legal_pack_completed","transaction_id":"tx-1","actor":"Jane"}`)
	require.Equal(t, http.StatusAccepted, a.code)
	require.Equal(t, []any{"evt-1"}, a.body["ids"])
	again := post(t, b.url, auth, `{"id":"evt-1","type":"legal_pack_completed","transaction_id":"tx-1","actor":"Jane"}`)
	require.Equal(t, http.StatusAccepted, again.code)
	require.Equal(t, true, again.body["results"].([]any)[0].(map[string]any)["duplicate"])
	require.EqualValues(t, 1, b.stored(t))

	st, err := b.js.Stream(context.Background(), b.top.EventsStream())
	require.NoError(t, err)
	m, err := st.GetMsg(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "openmoove.events.legal_pack_completed", m.Subject)
	require.Equal(t, "evt-1", m.Header.Get(jetstream.MsgIDHeader))

	// An array, with an Idempotency-Key: each element gets key:i, twice → once.
	arr := `[{"type":"offer_accepted","transaction_id":"tx-2"},{"type":"completion_date_set","transaction_id":"tx-2"}]`
	a = post(t, b.url, auth, arr, "Idempotency-Key", "batch-7")
	require.Equal(t, http.StatusAccepted, a.code)
	require.Equal(t, []any{"batch-7:0", "batch-7:1"}, a.body["ids"])
	a = post(t, b.url, auth, arr, "Idempotency-Key", "batch-7")
	require.Equal(t, http.StatusAccepted, a.code)
	require.EqualValues(t, 3, b.stored(t))

	// No id, no key: one is generated and returned.
	a = post(t, b.url, auth, `{"type":"offer_accepted","transaction_id":"tx-3"}`)
	require.Equal(t, http.StatusAccepted, a.code)
	require.Len(t, a.body["ids"].([]any)[0], 36)

	// The event's own id wins over Idempotency-Key, and the stored event
	// carries the same id as its Msg-Id.
	a = post(t, b.url, auth, `{"id":"evt-own","type":"offer_accepted","transaction_id":"tx-4"}`, "Idempotency-Key", "key-9")
	require.Equal(t, http.StatusAccepted, a.code)
	require.Equal(t, []any{"evt-own"}, a.body["ids"])
	seq := uint64(a.body["results"].([]any)[0].(map[string]any)["stream_seq"].(float64))
	m, err = st.GetMsg(context.Background(), seq)
	require.NoError(t, err)
	require.Equal(t, "evt-own", m.Header.Get(jetstream.MsgIDHeader))
	require.Contains(t, string(m.Data), `"id":"evt-own"`)
}

func TestEventsNATSDown(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.nats.Conn.Close()
	a := post(t, b.url, "Bearer "+token, `{"type":"offer_accepted","transaction_id":"tx"}`)
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	require.Equal(t, "5", a.hdr.Get("Retry-After"))
}

func TestIngestOffWithoutToken(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv, err := ingest.Register(mux, ingest.Options{})
	require.NoError(t, err)
	require.Nil(t, srv)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader("{}")))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// An answer reads as written: "<the --ingest-token>", not
// "\u003cthe --ingest-token\u003e" as encoding/json's HTML escaping has it.
func TestAnswersAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	resp, body := send(t, b.url+"/v1/events", "", `{"type":"legal_pack_completed","transaction_id":"tx-1"}`)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, string(body), "Bearer <the --ingest-token>")
	require.NotContains(t, string(body), `\u003c`)
}
