package deadletter

// Headers a dead letter carries on top of the original message's own. They
// are the contract between the workers that write dead letters, the
// advisory mover, and the operators' tools that read and replay them.
const (
	// HeaderOriginalSubject is the subject the message was first published on.
	HeaderOriginalSubject = "Omq-Original-Subject"
	// HeaderOriginalStream is the stream the message was consumed from.
	HeaderOriginalStream = "Omq-Original-Stream"
	// HeaderOriginalSeq is its sequence in that stream.
	HeaderOriginalSeq = "Omq-Original-Seq"
	// HeaderOriginalMsgID is its Nats-Msg-Id, if it had one. A replay keeps
	// it as the API idempotency key.
	HeaderOriginalMsgID = "Omq-Original-Msg-Id"
	// HeaderDeliveries is how many times it was delivered.
	HeaderDeliveries = "Omq-Deliveries"
	// HeaderError is the last error, in words a person can act on.
	HeaderError = "Omq-Error"
	// HeaderErrorKind is permanent, transient, throttled, systemic or
	// exhausted.
	HeaderErrorKind = "Omq-Error-Kind"
	// HeaderErrors is the error history, a JSON array of
	// {"at","kind","error","delivery"}, oldest first.
	HeaderErrors = "Omq-Errors"
	// HeaderFailedAt is when it was dead-lettered, RFC 3339 in UTC.
	HeaderFailedAt = "Omq-Failed-At"
	// HeaderWorker is the worker (consumer) that gave up on it, or
	// "deadletters" for the dead-letter mover, the backstop ("advisory-mover"
	// in dead letters written by earlier versions).
	HeaderWorker = "Omq-Worker"
	// HeaderReplayOf is set on a replayed message: the dead letter's id (its
	// sequence in the DLQ stream).
	HeaderReplayOf = "Omq-Replay-Of"
	// HeaderLane is the budget lane a message's API calls are paced in; a
	// replay sets LaneReplay so that replays yield to live work.
	//
	// TODO(lanes): use events.HeaderLane and events.LaneReplay once they
	// are on this branch; the values are the same.
	HeaderLane = "Omq-Lane"
	// LaneReplay is HeaderLane's value on replayed messages.
	LaneReplay = "replay"
)

// KindExhausted is the HeaderErrorKind of a message whose deliveries or
// failures ran out; the last error is kept in HeaderError.
const KindExhausted = "exhausted"

// ErrorRecord is one entry of HeaderErrors.
type ErrorRecord struct {
	At       string `json:"at"` // RFC 3339, UTC
	Kind     string `json:"kind"`
	Error    string `json:"error"`
	Delivery uint64 `json:"delivery"`
}
