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
// same event published twice inside the duplicate window is stored once.
// Parse decodes and validates raw bytes with one error per field
// (*ValidationError); Event.Validate checks a typed value. The JSON Schema in
// events/schema says the same thing for publishers in other languages.
//
// # Milestones
//
// DefaultMilestones maps every type to candidate milestone names in order
// ("property_listed" → "Property Marketing", then "Auction Marketing
// Period"), so one table serves standard and auction templates: the worker
// completes the first candidate the transaction has. LoadMilestoneMap reads
// an override file (--milestone-map).
//
// # Outcomes
//
// Outcome is the envelope on <prefix>.outcomes.<kind>; PublishOutcome
// publishes one with Nats-Msg-Id = its id, so a redelivered message does not
// publish its outcome twice.
package events
