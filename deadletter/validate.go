package deadletter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
)

// Validator checks a body before it is replayed (omq dlq edit). Its error
// is shown to the operator, so it should name the field at fault.
type Validator func(body []byte) error

// Validators maps a subject pattern to the validator of bodies on it. A
// pattern is written without the subject prefix ("commands.create_property",
// "events.>"), so one registry serves every prefix. When several patterns
// match, the one with the most literal tokens wins.
type Validators map[string]Validator

// DefaultValidators is the registry Store uses when its options name none.
// Its validators are the workers' own decoders (package events); a
// package may replace an entry in an init function — never later, it is
// not locked.
var DefaultValidators = Validators{
	"commands.create_property":      ValidateCreateProperty,
	"commands.bulk.create_property": ValidateCreateProperty,
	"events.>":                      ValidateEvent,
}

// For returns the validator of subject (a full subject, prefix included),
// and its pattern; nil when none matches.
func (v Validators) For(prefix, subject string) (string, Validator) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return "", nil
	}
	best, bestScore := "", -1
	for p := range v {
		if !subjectMatches(p, rest) {
			continue
		}
		score := 0
		for t := range strings.SplitSeq(p, ".") {
			if t != "*" && t != ">" {
				score++
			}
		}
		if score > bestScore || (score == bestScore && p < best) {
			best, bestScore = p, score
		}
	}
	if bestScore < 0 {
		return "", nil
	}
	return best, v[best]
}

// Validate checks body for subject. A subject with no validator must carry
// well-formed JSON, as every omq message does.
func (v Validators) Validate(prefix, subject string, body []byte) error {
	if _, f := v.For(prefix, subject); f != nil {
		return f(body)
	}
	if !json.Valid(body) {
		return errors.New("the body is not well-formed JSON")
	}
	return nil
}

// ValidateCreateProperty accepts a property creation as the property worker
// will: events.DecodeCreateProperty (no unknown field, each of its type)
// and Validate, the API's own rules and a usable request_id. A body it
// accepts is not dead-lettered again for its shape.
func ValidateCreateProperty(body []byte) error {
	var req struct {
		openmoove.CreateClientRequest
		RequestID *string `json:"request_id,omitempty"`
	}
	if err := strictJSON(body, &req); err != nil {
		return err // its messages name the JSON error and where it is
	}
	c, err := events.DecodeCreateProperty(body)
	if err != nil {
		return err
	}
	return c.Validate(nil)
}

// ValidateEvent accepts an event as the milestone worker will: a JSON
// object with non-empty string type and transaction_id that events.Parse
// takes (a known type, no unknown field).
func ValidateEvent(body []byte) error {
	var ev map[string]any
	if err := strictJSON(body, &ev); err != nil {
		return err
	}
	var missing []string
	for _, k := range []string{"type", "transaction_id"} {
		s, ok := ev[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("invalid event: %s must be a non-empty string", strings.Join(missing, " and "))
	}
	_, err := events.Parse(body)
	return err
}

// strictJSON decodes one JSON object and nothing after it.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return errors.New("the body is not well-formed JSON: it ends too early")
		case errors.As(err, &se):
			return fmt.Errorf("the body is not well-formed JSON: %v (at byte %d)", se, se.Offset)
		case errors.As(err, &te) && te.Field == "":
			return fmt.Errorf("the body must be a JSON object, not %s", te.Value)
		case errors.As(err, &te):
			return fmt.Errorf("invalid body: %s must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return errors.New("the body has data after its JSON object")
	}
	return nil
}
