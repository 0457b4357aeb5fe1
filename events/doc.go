// Package events defines what upstream systems tell omq and what omq tells
// them back: the event envelope, the five event types, the table that maps
// each type to the OpenMoove milestone it completes, and the outcome
// envelope the workers publish.
//
// # Events
//
// An event is JSON on subject <prefix>.events.<type>:
//
//	{"id":"evt-123","type":"legal_pack_completed","transaction_id":"<uuid>",
//	 "occurred_at":"2024-01-15T10:30:00Z","source":"crm","actor":"Jane","data":{}}
//
// type and transaction_id are required; id becomes the Nats-Msg-Id, so the
// same event published twice inside the duplicate window is stored once (an
// empty or null id means none). occurred_at is an RFC 3339 §5.6 date-time
// (OccurredAtPattern): "t" and "z" may be lower-case, as the RFC allows; an
// offset must lie within ±23:59, so that every accepted event can be
// written out again; a leap second is refused, since time.Time cannot hold
// it. Parse decodes and validates raw bytes with one error per field
// (*ValidationError); Event.Validate checks a typed value. Every reader of
// outside bytes uses Parse: HTTP ingest, omq publish and the milestone
// worker, which trusts nothing that came over NATS.
//
// # One contract
//
// The JSON Schemas in events/schema accept exactly what omq accepts:
// event.schema.json what Parse accepts, create_property.schema.json what
// DecodeCreateProperty then CreateProperty.Validate(nil) accept. A test
// runs a corpus of a few hundred bodies through a real validator and the
// decoders and fails on any disagreement. What a deployment fills in (a
// default estate agent, --assignments) is not in the schema: it is the
// strict form.
//
// # Milestones
//
// DefaultMilestones maps every type to candidate milestone names in order
// ("property_listed" → "Property Marketing", then "Auction Marketing
// Period"), so one table serves standard and auction templates: the worker
// completes the first candidate the transaction has. LoadMilestoneMap reads
// an override file (--milestone-map).
//
// # Lanes
//
// Lane names the share of the shared API budget a message's calls draw on
// (live, bulk, replay, reads); it travels in the HeaderLane header.
// LaneOfHeader reads it as the workers do: no header, or an unknown one, is
// live, so a header can only lower a message's priority.
//
// # Outcomes
//
// Outcome is the envelope on <prefix>.outcomes.<kind>; PublishOutcome
// publishes one with Nats-Msg-Id = its id, so a redelivered message does not
// publish its outcome twice.
package events
