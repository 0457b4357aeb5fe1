package ingest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
)

// prop returns goodProperty with request_id set to id (raw JSON).
func prop(idJSON string) string {
	return strings.Replace(goodProperty, `"crm-42"`, idJSON, 1)
}

// TestEdgesRefuseWhatWorkersWould probes both endpoints with hostile
// bodies and headers: each is refused with 400 and the field named, and
// nothing is published; or it is accepted and what was stored is what the
// worker accepts.
func TestEdgesRefuseWhatWorkersWould(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<16)
	auth := "Bearer " + token
	event := func(extra string) string {
		return `{"type":"offer_accepted","transaction_id":"tx-1"` + extra + `}`
	}
	long := strings.Repeat("a", 300)
	for _, c := range []struct {
		name, path, body string
		hdr              []string
		field            string // the field error expected; "" when accepted
	}{
		{"events: array of non-objects", "/v1/events", `[1,"x",null]`, nil, "[0].body"},
		{"events: nested array", "/v1/events", `[[` + event("") + `]]`, nil, "[0].body"},
		{"events: null", "/v1/events", `null`, nil, "body"},
		{"events: two objects", "/v1/events", event("") + event(""), nil, "body"},
		{"events: whitespace only", "/v1/events", " \n\t ", nil, "body"},
		{"events: raw NUL", "/v1/events", "{\"type\":\"offer_accepted\",\"transaction_id\":\"tx\x00\"}", nil, "body"},
		{"events: invalid UTF-8 in transaction_id", "/v1/events", "{\"type\":\"offer_accepted\",\"transaction_id\":\"tx\xff\"}", nil, "transaction_id"},
		{"events: escaped NUL in transaction_id", "/v1/events", `{"type":"offer_accepted","transaction_id":"tx\u0000"}`, nil, "transaction_id"},
		{"events: numeric transaction_id", "/v1/events", `{"type":"offer_accepted","transaction_id":12}`, nil, "transaction_id"},
		{"events: long transaction_id", "/v1/events", `{"type":"offer_accepted","transaction_id":"` + long + `"}`, nil, "transaction_id"},
		{"events: long id", "/v1/events", event(`,"id":"` + long + `"`), nil, "id"},
		{"events: id with space", "/v1/events", event(`,"id":"a b"`), nil, "id"},
		{"events: id with wildcard", "/v1/events", event(`,"id":"a.*.>"`), nil, "id"},
		{"events: data not an object", "/v1/events", event(`,"data":[1]`), nil, "data"},
		{"events: transaction_id with dots", "/v1/events", `{"type":"offer_accepted","transaction_id":"a.b"}`, nil, "transaction_id"},
		{"events: transaction_id traversal", "/v1/events", `{"type":"offer_accepted","transaction_id":".."}`, nil, "transaction_id"},
		{"events: transaction_id slash", "/v1/events", `{"type":"offer_accepted","transaction_id":"../clients"}`, nil, "transaction_id"},
		{"events: transaction_id wildcard", "/v1/events", `{"type":"offer_accepted","transaction_id":">"}`, nil, "transaction_id"},
		{"events: Idempotency-Key with space", "/v1/events", event(""), []string{"Idempotency-Key", "a b"}, "Idempotency-Key"},
		{"events: Idempotency-Key too long", "/v1/events", event(""), []string{"Idempotency-Key", long}, "Idempotency-Key"},
		{"events: Idempotency-Key wildcard", "/v1/events", "[" + event("") + "]", []string{"Idempotency-Key", "k*>"}, "Idempotency-Key"},
		{"events: Idempotency-Key fine", "/v1/events", event(""), []string{"Idempotency-Key", "crm.42/x"}, ""},

		{"properties: array of non-objects", "/v1/properties", `[1]`, nil, "[0].non_field_errors"},
		{"properties: null", "/v1/properties", `null`, nil, "non_field_errors"},
		{"properties: trailing value", "/v1/properties", goodProperty + "{}", nil, "non_field_errors"},
		{"properties: raw NUL", "/v1/properties", prop("\"a\x00\""), nil, "non_field_errors"},
		{"properties: products not a list", "/v1/properties", strings.Replace(goodProperty, `"first_name"`, `"products":"x","first_name"`, 1), nil, "products"},
		{"properties: request_id number", "/v1/properties", prop(`42`), nil, "request_id"},
		{"properties: request_id too long", "/v1/properties", prop(`"` + long + `"`), nil, "request_id"},
		{"properties: request_id space", "/v1/properties", prop(`"a b"`), nil, "request_id"},
		{"properties: request_id wildcard", "/v1/properties", prop(`"a.*"`), nil, "request_id"},
		{"properties: request_id NUL", "/v1/properties", prop(`"a\u0000"`), nil, "request_id"},
		{"properties: request_id invalid UTF-8", "/v1/properties", prop("\"a\xff\""), nil, "request_id"},
		{"properties: Idempotency-Key too long", "/v1/properties", prop(`null`), []string{"Idempotency-Key", long}, "Idempotency-Key"},
		{"properties: request_id traversal", "/v1/properties", prop(`"../../clients"`), nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			evBefore, cmdBefore := b.stored(t), b.commands(t)
			a := postAt(t, b.url+c.path, auth, c.body, c.hdr...)
			if c.field != "" {
				require.Equal(t, http.StatusBadRequest, a.code, "%v", a.body)
				require.NotEmpty(t, a.body["error"])
				fields, _ := a.body["field_errors"].(map[string]any)
				require.Contains(t, fields, c.field, "%v", a.body)
				require.Equal(t, evBefore, b.stored(t), "nothing published")
				require.Equal(t, cmdBefore, b.commands(t), "nothing published")
				return
			}
			require.Equal(t, http.StatusAccepted, a.code, "%v", a.body)
			// What was stored is what the worker accepts.
			stream := b.top.EventsStream()
			if c.path == "/v1/properties" {
				stream = b.top.CommandsStream()
			}
			st, err := b.js.Stream(context.Background(), stream)
			require.NoError(t, err)
			m, err := st.GetLastMsgForSubject(context.Background(), ">")
			require.NoError(t, err)
			if c.path == "/v1/events" {
				ev, err := events.Parse(m.Data)
				require.NoError(t, err, "the worker refuses what ingest accepted: %s", m.Data)
				require.Equal(t, m.Header.Get("Nats-Msg-Id"), ev.ID)
				return
			}
			req, err := events.DecodeCreateProperty(m.Data)
			require.NoError(t, err)
			require.NoError(t, req.Validate(nil))
		})
	}
}
