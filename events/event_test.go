package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/events/schema"
	"github.com/openmoove/omq/failure"
)

// eventCases are good and bad events; fields names what Parse must blame.
var eventCases = []struct {
	name   string
	body   string
	fields []string // nil: valid
}{
	{"minimal", `{"type":"legal_pack_completed","transaction_id":"3f2a9c1e-0000-4000-8000-000000000001"}`, nil},
	{"full", `{"id":"evt-1","type":"property_listed","transaction_id":"42","occurred_at":"2024-01-15T10:30:00Z","source":"crm","actor":"Jane Smith","data":{"price":350000}}`, nil},
	{"nulls are absent", `{"type":"offer_accepted","transaction_id":"tx","actor":null}`, nil},
	{"missing transaction_id", `{"type":"offer_accepted"}`, []string{"transaction_id"}},
	{"missing type", `{"transaction_id":"tx"}`, []string{"type"}},
	{"empty object", `{}`, []string{"type", "transaction_id"}},
	{"unknown type", `{"type":"house_sold","transaction_id":"tx"}`, []string{"type"}},
	{"number type", `{"type":3,"transaction_id":"tx"}`, []string{"type"}},
	{"transaction_id array", `{"type":"offer_accepted","transaction_id":["tx"]}`, []string{"transaction_id"}},
	{"transaction_id with slash", `{"type":"offer_accepted","transaction_id":"../clients"}`, []string{"transaction_id"}},
	{"id with space", `{"id":"a b","type":"offer_accepted","transaction_id":"tx"}`, []string{"id"}},
	{"occurred_at not a time", `{"type":"offer_accepted","transaction_id":"tx","occurred_at":"yesterday"}`, []string{"occurred_at"}},
	{"data not an object", `{"type":"offer_accepted","transaction_id":"tx","data":[1]}`, []string{"data"}},
	{"actor too long", `{"type":"offer_accepted","transaction_id":"tx","actor":"` + string(bytes.Repeat([]byte("é"), 201)) + `"}`, []string{"actor"}},
	{"unknown field", `{"type":"offer_accepted","transaction_id":"tx","user":"x"}`, []string{"user"}},
	{"not an object", `[1,2]`, []string{"body"}},
	{"malformed", `{"type":`, []string{"body"}},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range eventCases {
		ev, err := events.Parse([]byte(c.body))
		if c.fields == nil {
			require.NoError(t, err, c.name)
			require.NoError(t, ev.Validate(), c.name)
			continue
		}
		var ve *events.ValidationError
		require.True(t, errors.As(err, &ve), "%s: %v", c.name, err)
		require.ErrorIs(t, err, events.ErrInvalid)
		require.Equal(t, failure.Permanent, failure.KindOf(err))
		got := make([]string, 0, len(ve.Fields))
		for f, msgs := range ve.Fields {
			got = append(got, f)
			require.Len(t, msgs, 1, "one error per field")
		}
		require.ElementsMatch(t, c.fields, got, "%s: %v", c.name, err)
	}
}

// TestSchemaAgreesWithParse keeps events/schema and the Go validator saying
// the same thing about every case.
func TestSchemaAgreesWithParse(t *testing.T) {
	t.Parallel()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.Event))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("event.schema.json", doc))
	sch, err := c.Compile("event.schema.json")
	require.NoError(t, err)
	for _, tc := range eventCases {
		inst, jerr := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(tc.body)))
		schemaOK := jerr == nil && sch.Validate(inst) == nil
		_, perr := events.Parse([]byte(tc.body))
		require.Equal(t, perr == nil, schemaOK, "%s: schema and Parse disagree (Parse: %v)", tc.name, perr)
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	ev := events.Event{ID: events.NewID(), Type: events.TypeOfferAccepted, TransactionID: "tx", Actor: "Jane"}
	require.NoError(t, ev.Validate())
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NotContains(t, string(b), "occurred_at", "a zero time is left out")
	got, err := events.Parse(b)
	require.NoError(t, err)
	require.Equal(t, ev, got)
}

func TestMilestoneMap(t *testing.T) {
	t.Parallel()
	def := events.DefaultMilestones()
	for _, typ := range events.Types() {
		c, ok := def.Candidates(typ)
		require.True(t, ok, typ)
		require.NotEmpty(t, c)
	}
	c, _ := def.Candidates(events.TypePropertyListed)
	require.Equal(t, []string{"Property Marketing", "Auction Marketing Period"}, c)
	c, _ = def.Candidates(events.TypeContractsExchanged)
	require.Equal(t, []string{"Exchange of Contracts", "Auction Exchange"}, c)

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	m, err := events.LoadMilestoneMap(write("ok.yaml", "completion_date_set: Completion Date Agreed\nproperty_listed: [Listing, Auction Marketing Period]\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"Completion Date Agreed"}, m[events.TypeCompletionDateSet])
	require.Equal(t, []string{"Listing", "Auction Marketing Period"}, m[events.TypePropertyListed])
	require.Equal(t, def[events.TypeOfferAccepted], m[events.TypeOfferAccepted], "types left out keep the default")

	m, err = events.LoadMilestoneMap(write("ok.json", `{"offer_accepted":["Offer Agreed"]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"Offer Agreed"}, m[events.TypeOfferAccepted])

	for body, want := range map[string]string{
		"house_sold: [X]\n":        `unknown event type "house_sold"`,
		"offer_accepted: []\n":     "at least one non-empty",
		"offer_accepted: {a: 1}\n": "a milestone name or a list",
		"offer_accepted: [\n":      "type: [names…]",
	} {
		_, err := events.LoadMilestoneMap(write("bad.yaml", body))
		require.ErrorContains(t, err, want, body)
	}
	_, err = events.LoadMilestoneMap(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "--milestone-map")
}
