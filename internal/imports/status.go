package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/properties"
)

// The states of a row, as omq import status and the console say them.
const (
	StatusCreated = "created" // the property exists; Detail names it
	StatusFailed  = "failed"  // dead-lettered or refused; Detail says why
	StatusPending = "pending" // queued, not created yet
	StatusInvalid = "invalid" // never queued: it did not validate
)

// RowStatus is where one row of an import stands.
type RowStatus struct {
	Line      int
	Status    string
	RequestID string
	Detail    string
	// DeadLetter is the id of the row's newest dead letter, 0 for none.
	DeadLetter uint64
}

// Checker reads rows' states: the ledger first, then the dead letters of
// creations, read once when it is opened.
type Checker struct {
	ledger *properties.Ledger
	dead   map[string]deadletter.Letter
}

// NewChecker opens the ledger and reads every dead-lettered creation.
func NewChecker(ctx context.Context, js jetstream.JetStream, top streams.Topology) (*Checker, error) {
	ledger, err := properties.OpenLedger(ctx, js, top)
	if err != nil {
		return nil, err
	}
	dead, err := deadCreations(ctx, js, top)
	if err != nil {
		return nil, err
	}
	return &Checker{ledger: ledger, dead: dead}, nil
}

// Status is where the row stands.
func (c *Checker) Status(ctx context.Context, row RowRef) (RowStatus, error) {
	rs := RowStatus{Line: row.Line, RequestID: row.RequestID}
	if row.Problems != "" {
		rs.Status, rs.Detail = StatusInvalid, row.Problems
		return rs, nil
	}
	requestID := row.RequestID
	entry, _, err := c.ledger.Get(ctx, requestID)
	if err != nil && !errors.Is(err, properties.ErrNoEntry) {
		return rs, err
	}
	switch l, dead := c.dead[requestID]; {
	case err == nil && entry.State == properties.StateCreated:
		rs.Status, rs.Detail = StatusCreated, fmt.Sprintf("transaction %s (property %d)", entry.TransactionID, entry.PropertyID)
	case dead:
		rs.Status, rs.Detail, rs.DeadLetter = StatusFailed, fmt.Sprintf("%s (dead letter %d: omq dlq show %d)", l.Error, l.ID, l.ID), l.ID
	case err == nil && entry.State == properties.StateRefused:
		rs.Status, rs.Detail = StatusFailed, entry.Error
	case err == nil:
		rs.Status, rs.Detail = StatusPending, "being created since "+entry.At.Format(time.RFC3339)
	default:
		rs.Status, rs.Detail = StatusPending, "queued"
	}
	return rs, nil
}

// deadCreations maps request_id → the newest dead letter of a creation.
func deadCreations(ctx context.Context, js jetstream.JetStream, top streams.Topology) (map[string]deadletter.Letter, error) {
	out := map[string]deadletter.Letter{}
	store := deadletter.NewStore(js, top)
	err := store.Scan(ctx, deadletter.Filter{Subject: top.CreatePropertySubject()}, func(l deadletter.Letter) error {
		id := l.IdempotencyKey()
		if c, err := events.DecodeCreateProperty(l.Data); err == nil && c.RequestID != "" {
			id = c.RequestID
		}
		out[id] = l
		return nil
	})
	return out, err
}
