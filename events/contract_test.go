package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/events/schema"
)

// The contract tests run bodies through a JSON Schema (with a real
// validator, formats asserted) and through omq's decoder, and fail on any
// body the two judge differently. No case is excused: the one rule a
// pattern cannot say (the day exists in its month) is in "format", which
// the validator asserts here.

func compile(t *testing.T, name string, doc []byte) *jsonschema.Schema {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource(name, inst))
	s, err := c.Compile(name)
	require.NoError(t, err)
	return s
}

func schemaAccepts(s *jsonschema.Schema, body string) bool {
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	return err == nil && s.Validate(inst) == nil
}

// mutate returns base with each field of set replaced by its raw JSON
// value, or removed when the value is "".
func mutate(t *testing.T, base string, set map[string]string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(base), &m))
	for k, v := range set {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = json.RawMessage(v)
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type verdicts struct{ accepted, refused int }

// agree fails the test for a body the schema and the decoder judge
// differently, and counts the verdicts.
func (v *verdicts) agree(t *testing.T, name, body string, schemaOK bool, decoderErr error) {
	t.Helper()
	if schemaOK != (decoderErr == nil) {
		t.Errorf("%s: schema accepts=%v, decoder error=%v\nbody: %s", name, schemaOK, decoderErr, body)
	}
	if schemaOK {
		v.accepted++
	} else {
		v.refused++
	}
}

const baseEvent = `{"id":"evt-1","type":"offer_accepted","transaction_id":"3f2a9c1e-0000-4000-8000-000000000001",
 "occurred_at":"2024-01-15T10:30:00Z","source":"crm","actor":"Jane","data":{"price":350000}}`

// occurredAt are RFC 3339 edge cases; true means valid.
var occurredAt = map[string]bool{
	"2024-01-15T10:30:00Z": true, "2024-01-15t10:30:00z": true, "2024-01-15t10:30:00Z": true,
	"2024-01-15T10:30:00.5Z": true, "2024-01-15T10:30:00.123456789Z": true,
	"2024-01-15T10:30:00.1234567891234+01:00": true, "2024-01-15T10:30:00-00:00": true,
	"2024-01-15T10:30:00+23:59": true, "2024-01-15T10:30:00-23:59": true, "0000-01-01T00:00:00Z": true,
	"9999-12-31T23:59:59Z": true, "2024-02-29T00:00:00Z": true,
	"2024-01-15T10:30:00+24:00": false, "2024-01-15T10:30:00-24:00": false, "2024-01-15T10:30:00+23:60": false,
	"2024-01-15T10:30:00+99:00": false, "2016-12-31T23:59:60Z": false, "2016-12-31T23:59:60.5Z": false,
	"2016-12-31T18:59:60-05:00": false, "2024-01-15T24:00:00Z": false, "2024-01-15T1:30:00Z": false,
	"2024-01-15T10:30:00,5Z": false, "2024-01-15T10:30:00.Z": false, "2024-01-15T10:30:00+0100": false,
	"2024-01-15T10:30:00": false, "2024-01-15 10:30:00Z": false, "2024-01-15T10:30Z": false,
	"2023-02-29T00:00:00Z": false, "2024-02-30T00:00:00Z": false, "2024-13-01T00:00:00Z": false,
	"2024-00-10T00:00:00Z": false, "2024-01-00T00:00:00Z": false, "2024-01-15T10:60:00Z": false,
	"2024-01-15T+1:30:00Z": false, "2024-01-15T10:30:00+-1:00": false, "+2024-01-15T10:30:00Z": false,
	"2024-01-15T10:30:00Z ": false, "": false, "yesterday": false, "2024-01-15T10:30:00.1e3Z": false,
	"２０２４-01-15T10:30:00Z": false,
}

// eventMutations are changes of one field of baseEvent ("" removes it).
var eventMutations = map[string][]string{
	"id": {"", "null", `""`, `"a"`, q(strings.Repeat("a", 128)), q(strings.Repeat("a", 129)), `"a b"`, `"a.*.>"`,
		`"crm:42/x=y+z@h_-."`, `"é"`, "1", "[]", `"a\u0000"`},
	"type": {"", "null", `""`, `"legal_pack_completed"`, `"property_listed"`, `"contracts_exchanged"`,
		`"completion_date_set"`, `"Offer_Accepted"`, `"house_sold"`, "3", `["offer_accepted"]`},
	"transaction_id": {"", "null", `""`, `"42"`, `"tx_1-A"`, q(strings.Repeat("a", 64)), q(strings.Repeat("a", 65)),
		`"a.b"`, `"../clients"`, `">"`, `"tx "`, "12", `{}`},
	"source": {"", "null", `""`, q(strings.Repeat("é", 200)), q(strings.Repeat("é", 201)), q(strings.Repeat("a", 201)), "true"},
	"actor":  {"", "null", `""`, q(strings.Repeat("x", 200)), q(strings.Repeat("😀", 201)), `["Jane"]`},
	"data":   {"", "null", "{}", `{"a":{"b":[1,null]}}`, "[]", "[1]", `"x"`, "0", "true"},
	"extra":  {"1", "null", `""`},
	"ID":     {`"evt-2"`},
}

func TestEventSchemaAndParseAgree(t *testing.T) {
	t.Parallel()
	s := compile(t, "event.schema.json", schema.Event)
	var v verdicts
	check := func(name, body string) {
		ev, err := events.Parse([]byte(body))
		v.agree(t, name, body, schemaAccepts(s, body), err)
		if err == nil { // accepted ⇒ it can be sent on and read back the same
			b, merr := json.Marshal(ev)
			require.NoError(t, merr, "%s: an accepted event must marshal", name)
			back, perr := events.Parse(b)
			require.NoError(t, perr, name)
			require.True(t, back.OccurredAt.Equal(ev.OccurredAt), name)
		}
	}
	for field, vals := range eventMutations {
		for _, val := range vals {
			check(fmt.Sprintf("%s=%s", field, val), mutate(t, baseEvent, map[string]string{field: val}))
		}
	}
	for ts, valid := range occurredAt {
		name := "occurred_at=" + ts
		body := mutate(t, baseEvent, map[string]string{"occurred_at": q(ts)})
		check(name, body)
		_, err := events.Parse([]byte(body))
		require.Equal(t, valid, err == nil, "%s: %v", name, err)
	}
	for _, body := range []string{`{}`, `[]`, `null`, `"x"`, `1`, ``, `{"type":`, baseEvent + ` {}`, baseEvent + `[]`,
		`{"type":"offer_accepted","transaction_id":"tx"}`, `{"type":"offer_accepted","transaction_id":"tx","type":"nope"}`,
		`{"type":"offer_accepted","transaction_id":"tx","type":"offer_accepted"}`, " \n" + baseEvent + "\n "} {
		check("raw "+body, body)
	}
	t.Logf("events: %d accepted, %d refused, all alike", v.accepted, v.refused)
	require.GreaterOrEqual(t, v.accepted+v.refused, 100)
	require.GreaterOrEqual(t, v.accepted, 30)
	require.GreaterOrEqual(t, v.refused, 30)
}

func TestEventSchemaCarriesOccurredAtPattern(t *testing.T) {
	t.Parallel()
	var doc struct {
		Properties map[string]struct{ Pattern string } `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(schema.Event, &doc))
	require.Equal(t, events.OccurredAtPattern, doc.Properties["occurred_at"].Pattern)
}

func TestParseRefusesOffsetsTimeCannotWrite(t *testing.T) {
	t.Parallel()
	for _, off := range []string{"+24:00", "-24:00", "+23:60", "+99:59"} {
		_, err := events.Parse([]byte(`{"type":"offer_accepted","transaction_id":"tx","occurred_at":"2024-01-15T10:30:00` + off + `"}`))
		var ve *events.ValidationError
		require.ErrorAs(t, err, &ve, off)
		require.Contains(t, ve.Fields["occurred_at"][0], "±23:59", off)
	}
}

const baseCreation = `{"first_name":"Jane","last_name":"Doe","email":"jane@example.com","phone_number":"07700 900123",
 "property_address":"1 High Street, London","property_postcode":"SW1A 1AA","estate_agent_email":"agent@example.com",
 "sale_method":"standard","products":["moove-ready-pack"],"request_id":"crm-42"}`

var (
	phones = []string{`"07700 900123"`, `"07700900123"`, `"+447700900123"`, `"+44 (0)7700 900123"`, `"0044 7700 900123"`,
		`"447700900123"`, `"4407700900123"`, `"+4407700900123"`, `"(07700) 900-123"`, `"0770.090.0123"`, `"020 7946 0000"`,
		`"+1 415 555 0100"`, `"+33 1 23 45 67 89"`, `"+4915112345678"`, `"+12345678"`, `"+1234567"`, `"+1234567890123456"`,
		`"+0123456789"`, `"077009001"`, `"077009001234"`, `"0770090012(0)3"`, `"077009001(0)"`, `"07700 90012(0)"`,
		`"(0)7700900123"`, `"0(0)7700900123"`, `"((0))7700900123"`, `"07700()900123"`, `"07700900123)"`, `"(07700900123"`,
		`" 07700900123 "`, `"\u00a007700900123"`, `"07700\u00a0900123"`, `"07700\t900123"`, `"00 7700 900123"`,
		`"44770090012"`, `"4477009001"`, `"07700 9OO123"`, `"+44+7700900123"`, `"+44 0 7700 900123"`, `"+44 00 7700 900123"`,
		`"+4"`, `"+"`, `"0"`, `""`, `"  "`, "null", "", "7700900123", `["07700900123"]`, `"٠٧٧٠٠٩٠٠١٢٣"`}
	postcodes = []string{`"SW1A 1AA"`, `"sw1a1aa"`, `" s w 1 a 1 a a "`, `"M1 2AB"`, `"m12ab"`, `"GIR 0AA"`, `"gir0aa"`,
		`"EC1A 1BB"`, `"W1A 0AX"`, `"B33 8TH"`, `"CR2 6XH"`, `"DN55 1PT"`, `"ſw1a1aa"`, `"SW1A 1AI"`, `"SW1A 1CA"`,
		`"SW1A1A"`, `"SW1A 1AAA"`, `"SW1A\u00a01AA"`, `"SW1A\t1AA"`, `"12345"`, `"ABCDE"`, `"SW1A 1AA GB"`, `"S"`,
		`""`, `"   "`, "null", "", "1", `"ＳＷ1A 1AA"`, `"M1 2ıB"`}
	emails = []string{`"a@example.com"`, `" a@example.com "`, `"a.b+c@sub.example.co.uk"`, `"a@example"`, `"a@@example.com"`,
		`"a@-example.com"`, `"a b@example.com"`, `"é@example.com"`, q(strings.Repeat("a", 242) + "@example.com"),
		q(strings.Repeat("a", 243) + "@example.com"), `"a@example.com."`, `""`, `" "`, "null", "", "1"}
)

// creationMutations are changes of one field of baseCreation ("" removes
// it); phones, postcodes and emails are tried in several fields.
func creationMutations() map[string][]string {
	m := map[string][]string{
		"first_name":        {"", "null", `""`, `" "`, `"\u3000"`, `"J"`, `" Ada "`, "1"},
		"last_name":         {"", `""`, `"O'Brien"`, `["Doe"]`},
		"property_address":  {"", `""`, `"\n"`, `"7 Market Street"`},
		"phone_number":      phones,
		"property_postcode": postcodes,
		"email":             emails,
		"conveyancer_email": emails,
		"sale_method": {"", "null", `""`, `" "`, `"standard"`, `" standard "`, `"Standard"`, `"modern_auction"`,
			`"secure_sale"`, `"auction"`, "1"},
		"products":   {"", "null", "[]", `["moove-ready-pack"," moove-ready-pack "]`, `["other"]`, `[""]`, `[null]`, `[1]`, `"moove-ready-pack"`, "{}"},
		"request_id": {"", "null", `""`, `"a"`, q(strings.Repeat("a", 128)), q(strings.Repeat("a", 129)), `"a b"`, `"é"`, `"crm:42/x=y+z@h_-."`, "1"},
		"unknown":    {"1", "null"},
	}
	return m
}

// creationCombos are cross-field cases: professionals and auctions.
var creationCombos = []map[string]string{
	{"estate_agent_email": ""},
	{"estate_agent_email": `" "`},
	{"estate_agent_email": "null"},
	{"estate_agent_email": "", "mortgage_broker_email": `"m@example.com"`},
	{"estate_agent_email": "", "auctioneer_email": `"a@example.com"`},
	{"estate_agent_email": "", "conveyancer_email": `"c@example.com"`, "mortgage_broker_email": `"bad"`},
	{"sale_method": `"modern_auction"`, "auctioneer_email": `"a@example.com"`},
	{"sale_method": `" secure_sale "`, "auctioneer_email": `" a@example.com "`},
	{"sale_method": `"secure_sale"`, "auctioneer_email": `""`},
	{"sale_method": `"secure_sale"`, "auctioneer_email": `"\t"`},
	{"sale_method": `"secure_sale"`, "auctioneer_email": "null"},
	{"sale_method": `"modern_auction"`, "auctioneer_email": `"bad"`},
	{"sale_method": `"standard"`, "auctioneer_email": `"a@example.com"`, "estate_agent_email": ""},
	{"sale_method": "null", "auctioneer_email": "null"},
}

func decodeAndValidate(body string) error {
	c, err := events.DecodeCreateProperty([]byte(body))
	if err != nil {
		return err
	}
	return c.Validate(nil)
}

func TestCreatePropertySchemaAndDecoderAgree(t *testing.T) {
	t.Parallel()
	s := compile(t, "create_property.schema.json", schema.CreateProperty)
	var v verdicts
	check := func(name, body string) { v.agree(t, name, body, schemaAccepts(s, body), decodeAndValidate(body)) }
	for field, vals := range creationMutations() {
		for _, val := range vals {
			check(fmt.Sprintf("%s=%s", field, val), mutate(t, baseCreation, map[string]string{field: val}))
		}
	}
	for i, set := range creationCombos {
		check(fmt.Sprintf("combo %d %v", i, set), mutate(t, baseCreation, set))
	}
	for _, body := range []string{`{}`, `[]`, `null`, `""`, ``, `{"first_name":`, baseCreation + ` {}`} {
		check("raw "+body, body)
	}
	t.Logf("creations: %d accepted, %d refused, all alike", v.accepted, v.refused)
	require.GreaterOrEqual(t, v.accepted+v.refused, 100)
	require.GreaterOrEqual(t, v.accepted, 30)
	require.GreaterOrEqual(t, v.refused, 30)
}

// TestPhoneAndPostcodePatternsAgreeOnRandomSpellings tries thousands of
// random spellings: the phone and postcode patterns are the part of the
// schema most likely to drift from the normalising Go code.
func TestPhoneAndPostcodePatternsAgreeOnRandomSpellings(t *testing.T) {
	t.Parallel()
	s := compile(t, "create_property.schema.json", schema.CreateProperty)
	rnd := rand.New(rand.NewPCG(12, 1))
	gen := func(alphabet []string, min, max int) string {
		var b strings.Builder
		for range min + rnd.IntN(max-min+1) {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	phoneBits := []string{"0", "0", "4", "4", "7", "1", "9", "+", "(", ")", "(0)", " ", "-", ".", "00", "44"}
	postBits := []string{"S", "w", "1", "A", "a", "0", "M", "G", "I", "R", " ", "C", "9", "ı", "ſ", "\u00a0"}
	var v verdicts
	for range 1000 {
		ph := gen(phoneBits, 6, 18)
		body := mutate(t, baseCreation, map[string]string{"phone_number": q(ph)})
		v.agree(t, "phone "+ph, body, schemaAccepts(s, body), decodeAndValidate(body))
		pc := gen(postBits, 4, 9)
		body = mutate(t, baseCreation, map[string]string{"property_postcode": q(pc)})
		v.agree(t, "postcode "+pc, body, schemaAccepts(s, body), decodeAndValidate(body))
	}
	t.Logf("random spellings: %d accepted, %d refused", v.accepted, v.refused)
	require.Greater(t, v.accepted, 25, "the generator must reach valid spellings too")
}

func TestSchemaPatternsAreRE2AndECMASafe(t *testing.T) {
	t.Parallel()
	// Go-only syntax (\x{…}, \p{…}, (?i)) would make the schema mean
	// something else, or nothing, in other languages' validators.
	goOnly := regexp.MustCompile(`\\x\{|\\p\{|\\P\{|\(\?[a-zA-Z]`)
	require.False(t, goOnly.Match(schema.CreateProperty))
	require.False(t, goOnly.Match(schema.Event))
}
