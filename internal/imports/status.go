package imports

import (
	"context"
	"encoding/json"
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
	StatusPending = "pending" // waiting in the commands stream or being created
	// StatusNotQueued is a valid row of which omq knows nothing: the import
	// stopped before it, or its publish failed; importing the file again
	// queues it. It used to read "pending … queued", which sent operators
	// waiting for work that never existed.
	StatusNotQueued = "not queued"
	StatusInvalid   = "invalid" // never queued: it did not validate
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
// creations and the creations waiting in the commands stream, both read
// once when it is opened.
type Checker struct {
	ledger  *properties.Ledger
	dead    map[string]deadletter.Letter
	queued  map[string]bool
	timeout time.Duration
}

// NewChecker opens the ledger and reads every dead-lettered and every
// queued creation. timeout bounds each NATS request on its own (0: ctx
// alone); a failure names its cause (full store, no leader, no answer).
func NewChecker(ctx context.Context, js jetstream.JetStream, top streams.Topology, timeout time.Duration) (*Checker, error) {
	ledger, err := call(ctx, timeout, "open the ledger", func(ctx context.Context) (*properties.Ledger, error) {
		return properties.OpenLedger(ctx, js, top)
	})
	if err != nil {
		return nil, err
	}
	dead, err := call(ctx, timeout, "read the dead-lettered creations", func(ctx context.Context) (map[string]deadletter.Letter, error) {
		return deadCreations(ctx, js, top)
	})
	if err != nil {
		return nil, err
	}
	queued, err := queuedCreations(ctx, js, top, timeout)
	if err != nil {
		return nil, err
	}
	return &Checker{ledger: ledger, dead: dead, queued: queued, timeout: timeout}, nil
}

// Status is where the row stands.
func (c *Checker) Status(ctx context.Context, row RowRef) (RowStatus, error) {
	rs := RowStatus{Line: row.Line, RequestID: row.RequestID}
	if row.Problems != "" {
		rs.Status, rs.Detail = StatusInvalid, row.Problems
		return rs, nil
	}
	requestID := row.RequestID
	entry, err := call(ctx, c.timeout, fmt.Sprintf("line %d: read the ledger", row.Line), func(ctx context.Context) (properties.Entry, error) {
		e, _, err := c.ledger.Get(ctx, requestID)
		return e, err
	})
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
	case c.queued[requestID]:
		rs.Status, rs.Detail = StatusPending, "queued, waiting for the property worker"
	default:
		rs.Status, rs.Detail = StatusNotQueued, "no creation of it is queued: run omq import on the file again (rows already queued are not queued twice)"
	}
	return rs, nil
}

// queuedCreations are the request_ids of the creations waiting in the
// commands stream. A work-queue stream allows no second consumer over the
// worker's subjects, so this reads the messages one by one, up to the
// stream's count when it began, each read under timeout.
func queuedCreations(ctx context.Context, js jetstream.JetStream, top streams.Topology, timeout time.Duration) (map[string]bool, error) {
	out := map[string]bool{}
	what := "read the queued creations (" + top.CommandsStream() + ")"
	s, err := call(ctx, timeout, what, func(ctx context.Context) (jetstream.Stream, error) { return js.Stream(ctx, top.CommandsStream()) })
	if err != nil {
		return nil, err
	}
	st := s.CachedInfo().State
	for seq, seen := st.FirstSeq, uint64(0); seq <= st.LastSeq && seen < st.Msgs; seq++ {
		m, err := call(ctx, timeout, what, func(ctx context.Context) (*jetstream.RawStreamMsg, error) { return s.GetMsg(ctx, seq) })
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // done and removed meanwhile, or a gap
		}
		if err != nil {
			return nil, fmt.Errorf("%w (message #%d)", err, seq)
		}
		seen++
		var c struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(m.Data, &c) == nil && c.RequestID != "" {
			out[c.RequestID] = true
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
			out[id] = true
		}
	}
	return out, nil
}

// deadCreations maps request_id → the newest dead letter of a creation.
func deadCreations(ctx context.Context, js jetstream.JetStream, top streams.Topology) (map[string]deadletter.Letter, error) {
	out := map[string]deadletter.Letter{}
	store := deadletter.NewStore(js, top)
	// Live and bulk creations alike (an import's rows are on the bulk
	// subject, a single creation of the same request_id on the live one):
	// every commands subject whose type is create_property.
	err := store.Scan(ctx, deadletter.Filter{Subject: top.Prefix + ".commands.>", Type: "create_property"}, func(l deadletter.Letter) error {
		id := l.IdempotencyKey()
		if c, err := events.DecodeCreateProperty(l.Data); err == nil && c.RequestID != "" {
			id = c.RequestID
		}
		out[id] = l
		return nil
	})
	return out, err
}
