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
// A replay publishes the body back to the original subject with Nats-Msg-Id
// <original id>:replay:<dlq id> (the original id may still be inside the
// stream's duplicate window and would be dropped) and Omq-Replay-Of, and
// removes the dead letter only after JetStream acknowledged the publish.
package deadletter
