package ingest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
)

// Ingest sets the lane itself: one event is live, a batch is bulk, and an
// Omq-Lane header on the HTTP request changes nothing.
func TestIngestSetsTheLane(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	one := `{"type":"legal_pack_completed","transaction_id":"tx-1"}`
	many := `[{"type":"offer_accepted","transaction_id":"tx-2"},{"type":"offer_accepted","transaction_id":"tx-3"}]`
	require.Equal(t, http.StatusAccepted, post(t, b.url, "Bearer "+token, one, events.HeaderLane, "bulk").code)
	require.Equal(t, http.StatusAccepted, post(t, b.url, "Bearer "+token, many, events.HeaderLane, "live").code)
	st, err := b.js.Stream(t.Context(), b.top.EventsStream())
	require.NoError(t, err)
	for subject, want := range map[string]events.Lane{
		b.top.EventSubject("legal_pack_completed"): events.LaneLive,
		b.top.EventSubject("offer_accepted"):       events.LaneBulk,
	} {
		msg, err := st.GetLastMsgForSubject(t.Context(), subject)
		require.NoError(t, err)
		require.Equal(t, string(want), msg.Header.Get(events.HeaderLane), subject)
	}
}
