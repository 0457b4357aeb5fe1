package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
)

// collector is an OTLP/HTTP endpoint on loopback that keeps every export's
// body (protobuf; the test looks for a trace id's bytes in it).
func collector(t *testing.T) (url string, bodies func() [][]byte) {
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			got = append(got, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), got...)
	}
}

// omq publish --otel-endpoint starts the trace: the stored event carries
// its traceparent, and the span reached the collector before the command
// returned. Without it the event carries none.
func TestPublishStartsTheTraceWithOTelEndpoint(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t, natstest.Listen())
	otel, bodies := collector(t)
	code, _, errOut := runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--id", "e-traced", "--nats-url", s.AuthURL(), "--otel-endpoint", otel)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--id", "e-plain", "--nats-url", s.AuthURL())
	require.Equal(t, 0, code, errOut)

	st, err := s.JS.Stream(context.Background(), top.EventsStream())
	require.NoError(t, err)
	traced, err := st.GetMsg(context.Background(), 1)
	require.NoError(t, err)
	tp := traced.Header.Get("traceparent")
	parts := strings.Split(tp, "-") // version-traceid-spanid-flags
	require.Len(t, parts, 4, "traceparent %q", tp)
	id, err := hex.DecodeString(parts[1])
	require.NoError(t, err)
	require.True(t, func() bool {
		for _, b := range bodies() {
			if bytes.Contains(b, id) {
				return true
			}
		}
		return false
	}(), "the publish span of trace %s was exported before omq publish returned", parts[1])

	plain, err := st.GetMsg(context.Background(), 2)
	require.NoError(t, err)
	require.Empty(t, plain.Header.Get("traceparent"), "no --otel-endpoint, no trace")
}

func TestOTelEndpointMustBeAnHTTPURL(t *testing.T) {
	t.Parallel()
	code, _, errOut := runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--nats-url", "nats://127.0.0.1:1", "--otel-endpoint", "127.0.0.1:4318")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--otel-endpoint")
	require.Contains(t, errOut, "http://127.0.0.1:4318")
}
