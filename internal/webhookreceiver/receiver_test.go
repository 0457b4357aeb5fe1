package webhookreceiver_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	newSecret = "whsec-new-0123456789"
	oldSecret = "whsec-old-9876543210"
	// marker is in every body; no log line may ever hold it.
	marker = "PRIVATE-BODY-MARKER"
)

type bundle struct {
	srv  *httptest.Server
	nats *natstest.Server
	top  streams.Topology
	logs *testkit.Buffer
}

func setup(t *testing.T, maxBytes int64) *bundle {
	t.Helper()
	return setupWith(t, webhookreceiver.Options{MaxBytes: maxBytes})
}

// setupWith serves a receiver with opts, its secrets, NATS and logger
// filled in.
func setupWith(t *testing.T, opts webhookreceiver.Options) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	logs := &testkit.Buffer{}
	mux := http.NewServeMux()
	opts.Secrets, opts.JS, opts.Topology = []string{newSecret, oldSecret}, s.JS, top
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := webhookreceiver.Register(mux, opts)
	require.NoError(t, err)
	require.NotNil(t, r)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &bundle{srv: srv, nats: s, top: top, logs: logs}
}

func (b *bundle) post(t *testing.T, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+webhookreceiver.Path, bytes.NewReader(body))
	require.NoError(t, err)
	if sig != "" {
		req.Header.Set(webhookreceiver.SignatureHeader, sig)
	}
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func (b *bundle) stored(t *testing.T) uint64 {
	t.Helper()
	st, err := b.nats.JS.Stream(context.Background(), b.top.WebhooksStream())
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func milestoneBody(id int) []byte {
	return []byte(`{"event":"property.milestone.updated","timestamp":"2025-01-15T10:30:00Z","data":{"property_id":456,"note":"` +
		marker + `","milestone":{"id":` + string(rune('0'+id)) + `,"name":"Exchange of Contracts","completed":true}}}`)
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	// Every refusal logged, to see each reason named.
	b := setupWith(t, webhookreceiver.Options{WarnEvery: time.Nanosecond})
	body := milestoneBody(1)
	tampered := bytes.Replace(body, []byte("456"), []byte("457"), 1)
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"valid under the new secret", body, webhookreceiver.Sign(newSecret, body), http.StatusOK},
		{"old secret during rotation", milestoneBody(2), webhookreceiver.Sign(oldSecret, milestoneBody(2)), http.StatusOK},
		{"wrong secret", milestoneBody(3), webhookreceiver.Sign("not-the-secret", milestoneBody(3)), http.StatusUnauthorized},
		{"missing header", milestoneBody(4), "", http.StatusUnauthorized},
		{"no sha256= prefix", milestoneBody(5), strings.TrimPrefix(webhookreceiver.Sign(newSecret, milestoneBody(5)), "sha256="), http.StatusUnauthorized},
		{"not hex", milestoneBody(6), "sha256=" + strings.Repeat("zz", 32), http.StatusUnauthorized},
		{"tampered body", tampered, webhookreceiver.Sign(newSecret, body), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, b.post(t, tt.body, tt.sig), tt.name)
	}
	require.EqualValues(t, 2, b.stored(t), "only the two valid webhooks are stored")
	logs := b.logs.String()
	require.NotContains(t, logs, marker, "a log line holds the body")
	require.NotContains(t, logs, newSecret)
	require.NotContains(t, logs, oldSecret)
	for _, reason := range []string{`"reason":"wrong"`, `"reason":"missing"`, `"reason":"malformed"`} {
		require.Contains(t, logs, reason)
	}
}

// The sandbox signs as OpenMoove does; the receiver must agree with it.
func TestVerifyAgreesWithSandbox(t *testing.T) {
	t.Parallel()
	body := milestoneBody(1)
	require.NoError(t, webhookreceiver.Verify([][]byte{[]byte("a"), []byte(newSecret)}, body, sandbox.Sign(newSecret, body)))
	for header, want := range map[string]error{
		"":                                   webhookreceiver.ErrMissingSignature,
		"sha1=abc":                           webhookreceiver.ErrMalformedSignature,
		"sha256=abc":                         webhookreceiver.ErrMalformedSignature,
		sandbox.Sign("x", body):              webhookreceiver.ErrWrongSignature,
		webhookreceiver.Sign(newSecret, nil): webhookreceiver.ErrWrongSignature,
	} {
		require.True(t, errors.Is(webhookreceiver.Verify([][]byte{[]byte(newSecret)}, body, header), want), header)
	}
}

func TestSameWebhookThreeTimesIsOneMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	body := milestoneBody(7)
	for range 3 {
		require.Equal(t, http.StatusOK, b.post(t, body, webhookreceiver.Sign(newSecret, body)))
	}
	require.EqualValues(t, 1, b.stored(t))
	msg, err := b.nats.JS.Stream(context.Background(), b.top.WebhooksStream())
	require.NoError(t, err)
	m, err := msg.GetMsg(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "openmoove.webhooks.property.milestone.updated", m.Subject)
	require.Equal(t, webhookreceiver.MsgID(body), m.Header.Get("Nats-Msg-Id"))
	require.Equal(t, body, m.Data)
}

func TestBodyCapAndBadBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, 2048)
	big := []byte(`{"event":"property.updated","pad":"` + strings.Repeat("x", 4096) + `"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, b.post(t, big, webhookreceiver.Sign(newSecret, big)))
	for _, body := range [][]byte{[]byte(`not json`), []byte(`{"event":"a..b"}`), []byte(`{"event":"x.>"}`), []byte(`{}`)} {
		require.Equal(t, http.StatusBadRequest, b.post(t, body, webhookreceiver.Sign(newSecret, body)), string(body))
	}
	require.EqualValues(t, 0, b.stored(t))
}

// When JetStream cannot store the webhook the answer is 503, so OpenMoove
// retries; never a 2xx for a webhook that is not stored.
func TestUnavailableIs503(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	require.NoError(t, b.nats.JS.DeleteStream(context.Background(), b.top.WebhooksStream()))
	body := milestoneBody(8)
	require.Equal(t, http.StatusServiceUnavailable, b.post(t, body, webhookreceiver.Sign(newSecret, body)))
}

func TestOffWithoutSecret(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	mux := http.NewServeMux()
	r, err := webhookreceiver.Register(mux, webhookreceiver.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	require.Nil(t, r)
	require.Contains(t, logs.String(), "webhook receiver is off")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, webhookreceiver.Path, strings.NewReader("{}")))
	require.Equal(t, http.StatusNotFound, rec.Code)
}
