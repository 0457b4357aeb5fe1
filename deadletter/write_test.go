package deadletter_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
)

func TestFailedHeaders(t *testing.T) {
	t.Parallel()
	hist := make([]deadletter.ErrorRecord, 40)
	for i := range hist {
		hist[i] = deadletter.ErrorRecord{Kind: "transient", Error: fmt.Sprint("e", i), Delivery: uint64(i + 1)}
	}
	f := deadletter.Failed{
		Subject: "openmoove.events.offer_accepted", Data: []byte(`{}`), Stream: "OPENMOOVE_EVENTS", Seq: 42,
		Header:     nats.Header{"Nats-Msg-Id": {"evt-1"}, "Nats-Expected-Stream": {"X"}, "Traceparent": {"00-abc"}},
		Deliveries: 9, Kind: deadletter.KindExhausted, Error: "line one\nline two", History: hist,
		Worker: "milestones", FailedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	h := f.Headers()
	require.Equal(t, "OPENMOOVE_EVENTS:42", h.Get("Nats-Msg-Id"), "dedupe key of every writer")
	require.Equal(t, deadletter.MsgID("OPENMOOVE_EVENTS", 42), h.Get("Nats-Msg-Id"))
	require.Empty(t, h.Get("Nats-Expected-Stream"), "publish-steering headers are dropped")
	require.Equal(t, "00-abc", h.Get("Traceparent"), "the original's own headers are kept")
	require.Equal(t, "evt-1", h.Get(deadletter.HeaderOriginalMsgID))
	require.Equal(t, "line one line two", h.Get(deadletter.HeaderError), "a header value has no line break")
	require.Equal(t, "9", h.Get(deadletter.HeaderDeliveries))
	require.Equal(t, "2026-01-02T03:04:05Z", h.Get(deadletter.HeaderFailedAt))
	var got []deadletter.ErrorRecord
	require.NoError(t, json.Unmarshal([]byte(h.Get(deadletter.HeaderErrors)), &got))
	require.Len(t, got, deadletter.MaxHistory)
	require.Equal(t, "e0", got[0].Error, "the first error is kept")
	require.Equal(t, "e39", got[len(got)-1].Error, "and the latest")
	require.False(t, strings.ContainsAny(h.Get(deadletter.HeaderErrors), "\r\n"))
	require.Equal(t, "[]", deadletter.Failed{Subject: "s", Stream: "S", Seq: 1}.Headers().Get(deadletter.HeaderErrors))
}
