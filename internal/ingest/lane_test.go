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

// One creation is live and stays on the live subject; an array is bulk and
// goes to the bulk subject, consumed apart so it never stands in front of
// live creations. An Omq-Lane header on the HTTP request moves neither.
func TestIngestPutsBulkCreationsOnTheBulkSubject(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	noID := `{"first_name":"Ada","last_name":"Byron","email":"ada@example.com","phone_number":"07700900001",
 "property_address":"7 Market Street","property_postcode":"M1 2AB","estate_agent_email":"agent@example.com"}`
	one := postAt(t, b.url+"/v1/properties", "Bearer "+token, noID, "Idempotency-Key", "one", events.HeaderLane, "bulk")
	require.Equal(t, http.StatusAccepted, one.code, "%v", one.body)
	many := postAt(t, b.url+"/v1/properties", "Bearer "+token, "["+noID+","+noID+"]", "Idempotency-Key", "many", events.HeaderLane, "live")
	require.Equal(t, http.StatusAccepted, many.code, "%v", many.body)
	st, err := b.js.Stream(t.Context(), b.top.CommandsStream())
	require.NoError(t, err)
	for subject, want := range map[string]struct {
		lane events.Lane
		id   string
	}{
		b.top.CreatePropertySubject():     {events.LaneLive, "one"},
		b.top.BulkCreatePropertySubject(): {events.LaneBulk, "many:1"},
	} {
		msg, err := st.GetLastMsgForSubject(t.Context(), subject)
		require.NoError(t, err, subject)
		require.Equal(t, want.id, msg.Header.Get("Nats-Msg-Id"), subject)
		require.Equal(t, string(want.lane), msg.Header.Get(events.HeaderLane), subject)
	}
}
