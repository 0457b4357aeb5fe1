package sandbox

import (
	"encoding/json"
	"fmt"

	"github.com/openmoove/omq/openmoove"
)

// Reject makes POST /clients/ answer 400 for a request the local validator
// accepts — "a 400 the validator did not foresee". It is also the JSON body
// of POST /_sandbox/rejects.
type Reject struct {
	// Field is the request field (JSON name, e.g. "property_address") the
	// error is reported under; "non_field_errors" reports it for the request
	// as a whole.
	Field string `json:"field"`
	// Value, when set, limits the rule to requests whose Field equals it (for
	// "products", contains it). Empty matches every creation.
	Value string `json:"value,omitempty"`
	// Message is the error text. Default "This value is not accepted.".
	Message string `json:"message,omitempty"`
}

// Validate checks the rule.
func (r Reject) Validate() error {
	if r.Field == "" {
		return fmt.Errorf("%w: reject rule needs a field", ErrInvalidConfig)
	}
	return nil
}

func (r Reject) message() string {
	if r.Message == "" {
		return "This value is not accepted."
	}
	return r.Message
}

// matches reports whether the rule applies to req.
func (r Reject) matches(req *openmoove.CreateClientRequest) bool {
	if r.Value == "" {
		return true
	}
	b, _ := json.Marshal(req)
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	switch v := fields[r.Field].(type) {
	case string:
		return v == r.Value
	case []any:
		for _, e := range v {
			if e == r.Value {
				return true
			}
		}
	}
	return false
}
