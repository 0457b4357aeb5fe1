// Package schema holds the JSON Schemas (draft 2020-12) of what upstream
// systems send omq, for publishers written in other languages: validate
// with them before publishing and the workers will not dead-letter the
// message for its shape.
//
//   - Event (event.schema.json): one event on <prefix>.events.<type> or
//     POST /v1/events. events.Parse accepts exactly the same set.
//   - CreateProperty (create_property.schema.json): one property creation
//     on <prefix>.commands.create_property or POST /v1/properties.
//     events.DecodeCreateProperty then Validate(nil) accept exactly the same
//     set. Its patterns are generated from openmoove's rules by
//     gen_create_property.go (go generate).
//
// A test in package events runs a corpus of a few hundred bodies through
// both schemas and both decoders and fails on any disagreement. One rule
// lives in "format" alone: the day must exist in its month (date-time), so
// a validator that treats format as an annotation lets 2024-02-30 through
// and omq refuses it.
package schema

import _ "embed"

//go:generate go run gen_create_property.go

// Event is the JSON Schema of one event (events/schema/event.schema.json).
//
//go:embed event.schema.json
var Event []byte

// CreateProperty is the JSON Schema of one property creation
// (events/schema/create_property.schema.json).
//
//go:embed create_property.schema.json
var CreateProperty []byte
