// Package milestones is the milestone worker (role "milestones"): it turns
// upstream events (legal_pack_completed, offer_accepted, …) into completed
// OpenMoove milestones and milestone_completed outcomes, spending as few API
// calls as the work allows.
//
// For each event on <prefix>.events.> the Handler:
//
//  1. decodes it, trusting nothing: malformed JSON, a missing or mistyped
//     field, an unknown type or a type that does not match the subject is
//     a permanent failure naming the field (a dead letter at once);
//  2. looks the transaction up in the MILESTONES bucket (milestone ids,
//     names, completion and the property's address), reading
//     GET /properties/{id}/milestones/ only when the entry is missing or
//     older than CacheMaxAge (30m). A 404 is transient for --transaction-grace
//     (10m) after the event's publish time — its creation may still be
//     queued — then permanent;
//  3. picks the first candidate of the event's type (events.MilestoneMap)
//     the transaction has; none → permanent, the reason listing the names
//     the transaction has;
//  4. if the cache says it is completed, acks without a call ("already
//     done"); otherwise PATCHes it completed (a 404 on a cached id reads the
//     milestones once more; a 404 or 405 after that is permanent and names
//     --milestone-mode notify), and records the completion;
//  5. publishes milestone_completed (transaction, milestone, address,
//     actor, event id, time) with Nats-Msg-Id
//     "milestone_completed:<event id>". The address is the one omq knows
//     without a call: the ledger's, for a property omq created (the first
//     address line of its 201), or a property.created webhook's; otherwise
//     the field is left out, unless --outcome-address read (Config.Address
//     AddressRead) reads GET /properties/{id}/ once per transaction.
//
// So a transaction costs one milestones read, and each event one update:
// the minimum. With webhooks on, the webhook worker fills the cache from
// property.milestone.created for a property omq created (FillCache), and
// the read is spared too. Such a partial entry may lack milestones, so an
// event whose first candidate it lacks reads the list as before.
//
// Events of one transaction are serialised within a process, so a burst for
// a new transaction costs one milestones read. With --milestone-mode notify
// step 4 makes no call: the outcome is published for every event.
//
// The event id (or, for events published without one, the message's
// workers.Message.IdempotencyKey: the original Msg-Id, kept in
// Omq-Original-Msg-Id across a dead-letter replay, else "<stream>:<seq>") is
// the idempotency key: a redelivery or replay of the event that completed a
// milestone republishes the same outcome id and makes no call.
package milestones
