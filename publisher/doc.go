// Package publisher is the Go library upstream systems import to hand omq
// their facts: a CRM that knows the legal pack is done, an auction platform
// that knows a lot was listed. It validates each event before it leaves the
// process, so mistakes surface at once and not as dead letters later, and
// gives every event a Nats-Msg-Id so a retried publish is stored once.
//
// # Publishing one event
//
//	// omq's embedded NATS wants user omq and the password in
//	// omq-data/nats-password (or the --nats-user omq run was given).
//	nc, _ := nats.Connect("nats://127.0.0.1:4222", nats.UserInfo("omq", password))
//	p, err := publisher.New(nc)
//	ack, err := p.Publish(ctx, events.Event{
//		Type: events.TypeLegalPackCompleted, TransactionID: txID, Actor: "Jane",
//	})
//	// ack.ID is the event id (generated when empty); ack.Duplicate is true
//	// when JetStream already had it.
//
// An invalid event returns an *events.ValidationError naming each bad field,
// and nothing is published. Publishing the same event id again inside the
// stream's duplicate window (2 minutes) returns Duplicate true and stores
// nothing: retry freely after an error, with the same id.
//
// # Publishing many
//
// A Batch publishes asynchronously with at most WithMaxInFlight (default
// 256) unacknowledged publishes; Add blocks while the window is full. Flush
// waits for every ack and reports each failure with its index, so a caller
// can retry exactly those.
//
//	b := p.NewBatch()
//	for _, ev := range evs {
//		if _, err := b.Add(ctx, ev); err != nil { … } // invalid: not queued
//	}
//	res := b.Flush(ctx) // res.Acks, res.Failures
//
// A backlog (an import, a catch-up) belongs in the bulk lane, so that the
// API budget serves live events first: publisher.New(nc,
// publisher.WithLane(events.LaneBulk)). Default: live. A bulk publisher's
// property creations go to <prefix>.commands.bulk.create_property, which
// omq consumes apart from the live creations; its events keep their
// subjects and carry the lane in the Omq-Lane header.
//
// A Publisher is safe for concurrent use; a Batch is not.
package publisher
