// Package deadletter is omq's dead-letter queue: what a dead letter holds,
// how it is written, and the operators' tools to list, show, replay, edit,
// export and purge dead letters.
//
// A dead letter is a copy of a message that can never succeed, or whose
// deliveries ran out, stored in the DLQ stream (OPENMOOVE_DLQ) on the subject
// <prefix>.dlq.<original subject> with Nats-Msg-Id <stream>:<seq>, its
// original body and headers, and the Omq-* headers of headers.go. Its id is
// its sequence in the DLQ stream.
//
// # Writing
//
// Workers and the advisory mover call Write with a Failed message, wait for
// it to return, and only then terminate the original.
//
// # Reading
//
// A Store reads the DLQ of a topology with GetMsg and short-lived ordered
// consumers, so reading never changes the stream:
//
//	store := deadletter.NewStore(js, streams.New("openmoove"))
//	letters, err := store.List(ctx, deadletter.Filter{
//		Subject: "openmoove.events.*",          // the original subject, wildcards allowed
//		Kinds:   []string{"permanent"},
//		Error:   "phone_number",                // case-insensitive substring
//		Since:   time.Now().Add(-2 * time.Hour),
//	})
//
// Filter also selects by message type, HTTP status, the body's
// transaction_id, the reason (the group key, Reason), and JSON fields of
// the body (Body, "address.postcode=LS1 4AP"). Store.Page reads one page
// after a cursor (Filter.After, a stream sequence) and holds only that
// page; Store.Groups counts letters by Reason; Store.Count is a dry run's
// count and the last id it saw, which a job or a purge passes on as
// Filter.Through so that letters arriving later are left alone.
//
// Filter.Validate (and every Store method) rejects an unusable filter with
// a *FilterError naming the field and what it accepts; ParseID, ParseKinds
// and ParseTime read the operators' text ("2h", "7d", RFC 3339).
//
// # Replaying
//
// A replay (Store.Replay, Store.ReplayMany) publishes the body back to the
// original subject with the original headers minus the Omq-* failure ones
// and minus Nats-*, and with:
//
//   - Nats-Msg-Id <original id>:replay:<dlq id> — the original id may still
//     be inside the stream's duplicate window and would be dropped; with no
//     original id, <stream>:<seq> stands for it;
//   - Omq-Replay-Of <dlq id>;
//   - Omq-Original-Msg-Id <original id>, the idempotency key workers send to
//     the API, so the API never acts twice on one message.
//
// It waits for JetStream's acknowledgement and only then deletes the dead
// letter. Replaying the same id twice cannot process it twice: the second
// finds no dead letter (ErrNotFound), and a replay interrupted between its
// publish and its delete is dropped as a duplicate when run again
// (ReplayResult.Duplicate).
//
// An edited replay (ReplayOptions.Body, omq dlq edit) must pass the
// Validator that Validators registers for the original subject, else it
// returns an *InvalidBodyError and leaves the dead letter in place.
// Diff shows an edit as lines of the pretty-printed bodies.
//
// A replay carries events.HeaderLane replay, so the workers pace its API
// calls in the shared budget's replay lane and live work goes first.
//
// # Replay jobs
//
// Jobs replays everything a filter selects server-side: Create counts
// (the dry run) and stores a Job in the REPLAYJOBS bucket; Run replays
// from the job's cursor, saving its progress after every letter (RunSteps
// also hands over each letter's ReplayResult); Cancel stops it before its
// next letter; Run again resumes it, also from another process after a
// restart, at the job's Rate or one SetRate changed. The console and
// omq dlq replay --all run the same jobs, so either shows and cancels the
// other's.
package deadletter
