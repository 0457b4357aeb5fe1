// Package properties is the property worker (role "properties"): it
// consumes queued creations (events.CreateProperty on
// <prefix>.commands.create_property, consumer "properties", and bulk ones on
// <prefix>.commands.bulk.create_property, consumer "properties-bulk") and
// turns each request_id into exactly one OpenMoove property. The two
// consumers share the Creator and its ledger; the bulk one is of the bulk
// lane only (workers.Config.Lane), so when the API budget turns an import
// away it holds by itself while single creations go on.
//
// For each message the Creator (the workers.Handler):
//
//  1. decodes the body, trusting nothing (a bad body is a permanent failure,
//     dead-lettered with its field errors);
//  2. reads the request_id's entry in the idempotency ledger (LEDGER bucket,
//     see Ledger): created → publish property_created again (deduplicated by
//     its id) and ack, no API call; pending → resume (below);
//  3. applies the defaults (products ["moove-ready-pack"]; the assignment
//     table for every role the request lacks, least loaded first; the
//     --default-estate-agent-email when no professional remains) and
//     validates again with openmoove.ValidateCreate;
//  4. writes "pending" with the time and the exact body, then calls
//     POST /clients/;
//  5. on 201 records "created" with the property and transaction ids (and
//     claims the property id), publishes property_created, and for an auction
//     checks that the auction milestones exist (alert.auction_milestones_missing
//     if not). A 400 records "refused", gives the assignment slots back and
//     returns the API's error: the runtime dead-letters it with the field
//     errors in Omq-Error.
//
// # The crash window
//
// A crash (or a lost answer) after the API created the property and before
// the ledger says so leaves "pending". The message comes back (AckWait), and
// the next attempt reconciles before creating again: it lists the newest
// properties and adopts one created since the pending time (minus
// Config.ClockSkew) with the same address and postcode, not claimed by
// another request_id, whose seller has the same email. Only when none
// matches does it create. What remains is documented in docs/properties.md.
package properties
