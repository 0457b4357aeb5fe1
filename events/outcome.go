package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/streams"
)

// Outcome kinds the workers publish to the outcomes stream, on subject
// <prefix>.outcomes.<kind>.
const (
	// OutcomeMilestoneCompleted: the milestone worker completed a milestone
	// (or, in notify mode, would have). Data: milestone, milestone_id,
	// address, actor, event_type, mode. address (the property's first
	// address line) is present only when omq knows it without a call —
	// the property was created through omq, or a property.created webhook
	// named it — or with --outcome-address read.
	OutcomeMilestoneCompleted = "milestone_completed"
	// OutcomePropertyCreated: the property worker created a property.
	OutcomePropertyCreated = "property_created"
	// OutcomeAuctionMilestonesMissing alerts that an auction property lacks
	// its auction milestones.
	OutcomeAuctionMilestonesMissing = "alert.auction_milestones_missing"
)

// Outcome is what a worker did, published to OPENMOOVE_OUTCOMES for CRMs,
// alerting and omq's own reports. On the wire:
//
//	{"id","kind","occurred_at","transaction_id","property_id","event_id","data":{…}}
//
// ID must be derived from the message that caused the outcome (see
// OutcomeID), so a redelivered message publishes the same outcome id and
// JetStream drops the copy inside the stream's duplicate window (2 min).
type Outcome struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	OccurredAt    time.Time `json:"occurred_at"`
	TransactionID string    `json:"transaction_id,omitempty"`
	// PropertyID is the API's numeric property id, when known.
	PropertyID int64 `json:"property_id,omitempty"`
	// EventID is the id of the event (or request_id of the creation) that
	// caused it.
	EventID string         `json:"event_id,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
}

// OutcomeID is the deterministic id of the outcome of kind caused by the
// message whose idempotency key is key: "<kind>:<key>".
func OutcomeID(kind, key string) string { return kind + ":" + key }

// ErrInvalidOutcome is wrapped by PublishOutcome when the outcome lacks its
// id or kind.
var ErrInvalidOutcome = errors.New("events: invalid outcome")

// PublishOutcome publishes o to topology's outcome subject for o.Kind with
// Nats-Msg-Id = o.ID, and waits for the JetStream ack. OccurredAt defaults to
// now (UTC). A publish that JetStream refuses or does not acknowledge is a
// transient failure (failure.Transient): the caller's message is retried and
// the retry's outcome has the same id. A duplicate is not an error.
func PublishOutcome(ctx context.Context, js jetstream.JetStream, topology streams.Topology, o Outcome) (*jetstream.PubAck, error) {
	if o.ID == "" || o.Kind == "" {
		return nil, failure.PermanentError(fmt.Errorf("%w: id and kind are required (id %q, kind %q)", ErrInvalidOutcome, o.ID, o.Kind))
	}
	if o.OccurredAt.IsZero() {
		o.OccurredAt = time.Now().UTC()
	}
	body, err := json.Marshal(o)
	if err != nil {
		return nil, failure.PermanentError(fmt.Errorf("%w: %v", ErrInvalidOutcome, err))
	}
	topology = topology.WithDefaults()
	ack, err := js.Publish(ctx, topology.OutcomeSubject(o.Kind), body, jetstream.WithMsgID(o.ID))
	if err != nil {
		return nil, failure.TransientError(fmt.Errorf("publish outcome %s: %w", o.ID, err))
	}
	return ack, nil
}

// ParseOutcome decodes an outcome read from the outcomes stream.
func ParseOutcome(b []byte) (Outcome, error) {
	var o Outcome
	if err := json.Unmarshal(b, &o); err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrInvalidOutcome, err)
	}
	if o.ID == "" || o.Kind == "" {
		return Outcome{}, fmt.Errorf("%w: id and kind are required", ErrInvalidOutcome)
	}
	return o, nil
}
