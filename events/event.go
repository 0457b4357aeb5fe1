package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/openmoove/omq/failure"
)

// The event types omq understands.
const (
	TypeLegalPackCompleted = "legal_pack_completed"
	TypePropertyListed     = "property_listed"
	TypeOfferAccepted      = "offer_accepted"
	TypeContractsExchanged = "contracts_exchanged"
	TypeCompletionDateSet  = "completion_date_set"
)

// Types lists every event type, in the order of a sale.
func Types() []string {
	return []string{TypeLegalPackCompleted, TypePropertyListed, TypeOfferAccepted, TypeContractsExchanged, TypeCompletionDateSet}
}

// KnownType reports whether t is one of Types.
func KnownType(t string) bool { return slices.Contains(Types(), t) }

// Limits of the envelope's fields.
const (
	// MaxIDLen is the longest id (it becomes a Nats-Msg-Id).
	MaxIDLen = 128
	// MaxTextLen is the longest source or actor.
	MaxTextLen = 200
)

var (
	idPattern = regexp.MustCompile(`^[A-Za-z0-9._:@=+/-]{1,128}$`)
	// occurredAtRE is OccurredAtPattern compiled. time.Parse alone is laxer
	// than RFC 3339 (a one-digit hour, a comma before the fraction, an
	// offset of +24:00 that time.MarshalJSON then refuses) and stricter
	// (lower-case t and z), so the grammar is checked first.
	occurredAtRE = regexp.MustCompile(OccurredAtPattern)
	// A transaction id goes into API paths and KV keys: the UUID or the
	// numeric property id.
	txPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// OccurredAtPattern is the grammar of occurred_at, RFC 3339 §5.6
// date-time: "T" and "Z" in either case, any number of fraction digits
// (kept to the nanosecond), an offset within ±23:59. A leap second (second
// 60) is refused: Go's time cannot hold it, and no upstream clock we know
// of sends one; send :59. The day must also exist in its month (February
// 30 is refused), which a pattern cannot say; the schema's "format":
// "date-time" does. events/schema/event.schema.json carries the same
// pattern; a test keeps them equal.
const OccurredAtPattern = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

// Event is a fact from an upstream system. Type and TransactionID are
// required; ID becomes the Nats-Msg-Id and is generated (a UUIDv7) by the
// publisher when empty.
type Event struct {
	ID            string `json:"id,omitempty"`
	Type          string `json:"type"`
	TransactionID string `json:"transaction_id"`
	// OccurredAt is when it happened upstream; the zero value is left out.
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	// Source names the upstream system ("crm", "auction-platform").
	Source string `json:"source,omitempty"`
	// Actor is the person or system that did it; it reaches the outcome.
	Actor string `json:"actor,omitempty"`
	// Data is free-form detail, kept and passed on.
	Data map[string]any `json:"data,omitempty"`
}

// NewID returns a fresh event id: a time-ordered UUID (v7).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ErrInvalid is wrapped by every *ValidationError.
var ErrInvalid = errors.New("invalid event")

// ValidationError lists what is wrong with an event, one message per field
// (the same shape as the API's 400 field_errors). It is a permanent failure.
type ValidationError struct {
	Fields map[string][]string
}

func (v *ValidationError) Error() string {
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + strings.Join(v.Fields[k], " ")
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (v *ValidationError) Is(target error) bool { return target == ErrInvalid }

// FailureKind implements failure.Classified: a bad event never succeeds.
func (v *ValidationError) FailureKind() failure.Kind { return failure.Permanent }

func (v *ValidationError) add(field, msg string) {
	if v.Fields == nil {
		v.Fields = map[string][]string{}
	}
	if len(v.Fields[field]) == 0 { // one message per field: the first problem
		v.Fields[field] = []string{msg}
	}
}

func (v *ValidationError) err() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return v
}

// Validate checks a typed event; it returns a *ValidationError or nil. An
// empty ID is valid (the publisher generates one).
func (e *Event) Validate() error {
	var v ValidationError
	e.check(&v)
	return v.err()
}

func (e *Event) check(v *ValidationError) {
	if e.ID != "" && !idPattern.MatchString(e.ID) {
		v.add("id", fmt.Sprintf("must be 1 to %d letters, digits or ._:@=+/- (no spaces)", MaxIDLen))
	}
	switch {
	case e.Type == "":
		v.add("type", "required: one of "+strings.Join(Types(), ", "))
	case !KnownType(e.Type):
		v.add("type", fmt.Sprintf("unknown type %q: want one of %s", e.Type, strings.Join(Types(), ", ")))
	}
	switch {
	case e.TransactionID == "":
		v.add("transaction_id", "required: the OpenMoove transaction UUID (or numeric property id)")
	case !txPattern.MatchString(e.TransactionID):
		v.add("transaction_id", "must be the transaction UUID or numeric property id: 1 to 64 letters, digits, - or _")
	}
	if utf8.RuneCountInString(e.Source) > MaxTextLen {
		v.add("source", fmt.Sprintf("at most %d characters", MaxTextLen))
	}
	if utf8.RuneCountInString(e.Actor) > MaxTextLen {
		v.add("actor", fmt.Sprintf("at most %d characters", MaxTextLen))
	}
}

// fields are the envelope's JSON names, in order, and what each must be.
var fields = []struct{ name, want string }{
	{"id", "a string"},
	{"type", "a string"},
	{"transaction_id", "a string"},
	{"occurred_at", "an RFC 3339 time string such as 2024-01-15T10:30:00Z (offset within ±23:59, no leap second)"},
	{"source", "a string"},
	{"actor", "a string"},
	{"data", "a JSON object"},
}

// Parse decodes and validates one event from JSON, trusting nothing: a
// body that is not a JSON object, a field of the wrong type, an unknown
// field, a missing type or transaction_id each get their own message in the
// returned *ValidationError (the field "body" for the body as a whole).
func Parse(raw []byte) (Event, error) {
	var v ValidationError
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		v.add("body", "must be a JSON object such as {\"type\":\"legal_pack_completed\",\"transaction_id\":\"…\"}"+jsonHint(err))
		return Event{}, &v
	}
	if dec.More() {
		v.add("body", "must hold exactly one JSON object")
		return Event{}, &v
	}
	var e Event
	for _, f := range fields {
		val, ok := obj[f.name]
		delete(obj, f.name)
		if !ok || string(val) == "null" {
			continue
		}
		if err := decodeEventField(&e, f.name, val); err != nil {
			v.add(f.name, "must be "+f.want)
		}
	}
	for name := range obj {
		v.add(name, unknownFieldMsg)
	}
	e.check(&v)
	return e, v.err()
}

func decodeEventField(e *Event, name string, val json.RawMessage) error {
	switch name {
	case "id":
		return json.Unmarshal(val, &e.ID)
	case "type":
		return json.Unmarshal(val, &e.Type)
	case "transaction_id":
		return json.Unmarshal(val, &e.TransactionID)
	case "occurred_at":
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return err
		}
		t, err := parseOccurredAt(s)
		e.OccurredAt = t
		return err
	case "source":
		return json.Unmarshal(val, &e.Source)
	case "actor":
		return json.Unmarshal(val, &e.Actor)
	case "data":
		if len(val) == 0 || val[0] != '{' {
			return errors.New("not an object")
		}
		return json.Unmarshal(val, &e.Data)
	}
	return nil
}

// ParseTime reads an RFC 3339 date-time exactly as OccurredAtPattern
// allows: the one grammar of a time from outside omq (occurred_at, a
// webhook's timestamp). time.Parse alone also takes offsets such as +24:00,
// which no time.Time can be written back with.
func ParseTime(s string) (time.Time, error) { return parseOccurredAt(s) }

// parseOccurredAt reads an RFC 3339 date-time as OccurredAtPattern allows.
func parseOccurredAt(s string) (time.Time, error) {
	if !occurredAtRE.MatchString(s) {
		return time.Time{}, errors.New("not RFC 3339")
	}
	// The pattern admits only digits, - : . + and the letters t, z.
	return time.Parse(time.RFC3339Nano, strings.ToUpper(s))
}

// unknownFieldMsg is built once: a body may hold a hundred thousand
// unknown fields.
var unknownFieldMsg = "unknown field: the envelope has " + fieldNames()

func fieldNames() string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func jsonHint(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
