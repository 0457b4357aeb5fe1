package ingest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
)

const goodProperty = `{"request_id":"crm-42","first_name":"Ada","last_name":"Byron","email":"ada@example.com",
 "phone_number":"07700 900001","property_address":"7 Market Street, Manchester","property_postcode":"M1 2AB",
 "estate_agent_email":"agent@example.com"}`

const auctionWithoutAuctioneer = `{"first_name":"Ada","last_name":"Byron","email":"ada@example.com",
 "phone_number":"07700900001","property_address":"7 Market Street","property_postcode":"M1 2AB",
 "sale_method":"modern_auction","estate_agent_email":"agent@example.com"}`

func (b *bundle) commands(t *testing.T) uint64 {
	t.Helper()
	return b.held(t, b.top.CommandsStream())
}

func TestPropertiesAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	a := postAt(t, b.url+"/v1/properties", "Bearer "+token, goodProperty)
	require.Equal(t, http.StatusAccepted, a.code, "%v", a.body)
	require.Equal(t, []any{"crm-42"}, a.body["ids"])
	require.EqualValues(t, 1, b.commands(t))

	// The queued body is normalised as the API stores it.
	st, err := b.js.Stream(context.Background(), b.top.CommandsStream())
	require.NoError(t, err)
	msg, err := st.GetLastMsgForSubject(context.Background(), b.top.CreatePropertySubject())
	require.NoError(t, err)
	require.Equal(t, "crm-42", msg.Header.Get("Nats-Msg-Id"))
	var got events.CreateProperty
	require.NoError(t, json.Unmarshal(msg.Data, &got))
	require.Equal(t, "+447700900001", got.PhoneNumber)

	// The same request_id again is a duplicate, not a second creation.
	again := postAt(t, b.url+"/v1/properties", "Bearer "+token, goodProperty)
	require.Equal(t, http.StatusAccepted, again.code)
	require.Equal(t, true, again.body["results"].([]any)[0].(map[string]any)["duplicate"])
	require.EqualValues(t, 1, b.commands(t))
}

func TestPropertiesIdempotencyKeyAndArray(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	noID := `{"first_name":"Ada","last_name":"Byron","email":"ada@example.com","phone_number":"07700900001",
 "property_address":"7 Market Street","property_postcode":"M1 2AB","estate_agent_email":"agent@example.com"}`
	a := postAt(t, b.url+"/v1/properties", "Bearer "+token, "["+noID+","+noID+"]", "Idempotency-Key", "batch-7")
	require.Equal(t, http.StatusAccepted, a.code, "%v", a.body)
	require.Equal(t, []any{"batch-7:0", "batch-7:1"}, a.body["ids"])
}

func TestPropertiesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	tests := []struct {
		name, body, field, message string
	}{
		{"malformed JSON", `{"first_name":`, openmoove.NonFieldErrors, "JSON"},
		{"missing field", `{"first_name":"Ada"}`, "last_name", openmoove.MsgRequired},
		{"wrong type", `{"first_name":7}`, "first_name", ""},
		{"bad phone", `{"first_name":"A","last_name":"B","email":"a@example.com","phone_number":"12","property_address":"x","property_postcode":"M1 2AB","estate_agent_email":"e@example.com"}`, "phone_number", "Invalid phone number format"},
		{"auction without auctioneer", auctionWithoutAuctioneer, openmoove.NonFieldErrors, "auctioneer_email is required for auction sale methods"},
		{"array element", "[" + goodProperty + `,{"first_name":"A"}]`, "[1].last_name", openmoove.MsgRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postAt(t, b.url+"/v1/properties", "Bearer "+token, tt.body)
			require.Equal(t, http.StatusBadRequest, a.code, "%v", a.body)
			fields, _ := a.body["field_errors"].(map[string]any)
			require.Contains(t, fields, tt.field, "%v", a.body)
			if tt.message != "" {
				require.Contains(t, fields[tt.field].([]any)[0], tt.message)
			}
		})
	}
	require.EqualValues(t, 0, b.commands(t), "nothing published for bad input")
	require.Equal(t, http.StatusUnauthorized, postAt(t, b.url+"/v1/properties", "Bearer wrong", goodProperty).code)
}

// With a Fill that supplies the auctioneer (an assignment rule), the auction
// the API would refuse as given is accepted.
func TestPropertiesFillFromAssignments(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t)
	mux := http.NewServeMux()
	_, err := ingest.Register(mux, ingest.Options{Token: token, JS: s.JS, Topology: top,
		Fill: func(r *openmoove.CreateClientRequest) { r.AuctioneerEmail = "auctions@example.com" }})
	require.NoError(t, err)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	a := postAt(t, hs.URL+"/v1/properties", "Bearer "+token, auctionWithoutAuctioneer)
	require.Equal(t, http.StatusAccepted, a.code, "%v", a.body)
}
