// Package schema holds the JSON Schema (draft 2020-12) of omq's event
// envelope, for publishers written in other languages: validate with it
// before publishing to <prefix>.events.<type> and the milestone worker will
// not dead-letter the event for its shape. events.Parse applies the same
// rules in Go; a test keeps the two in agreement.
package schema

import _ "embed"

// Event is the JSON Schema of one event (events/schema/event.schema.json).
//
//go:embed event.schema.json
var Event []byte
