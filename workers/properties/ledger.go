package properties

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

// State is where a creation stands in the ledger.
type State string

// The ledger states.
const (
	// StatePending: a creation call is about to be made or was made without
	// a recorded answer. A crash leaves it; the next attempt reconciles.
	StatePending State = "pending"
	// StateCreated: the property exists; its ids are recorded.
	StateCreated State = "created"
	// StateRefused: the API answered 400. A new attempt (a replay of the
	// fixed body) starts over.
	StateRefused State = "refused"
)

// Entry is the ledger's record of one request_id.
type Entry struct {
	RequestID string `json:"request_id"`
	State     State  `json:"state"`
	// At is when the state was written; for StatePending, just before the
	// creation call, which bounds from below the created_at of the property
	// it may have created.
	At time.Time `json:"at"`
	// Owner is the message ("<stream>:<seq>") whose attempt wrote the
	// pending state: its own redelivery reconciles at once, another
	// message with the same request_id waits for the lease to run out.
	Owner string `json:"owner,omitempty"`
	// Request is the body sent to POST /clients/ (after defaults and
	// assignment), so a retry sends the same professionals.
	Request *openmoove.CreateClientRequest `json:"request,omitempty"`
	// Assigned are the professionals the assignment table supplied.
	Assigned map[assign.Role]string `json:"assigned,omitempty"`
	// NotCreated is set when the last attempt's answer proves the API
	// created nothing (429, 401, 403, 503), so the next one need not look.
	NotCreated bool `json:"not_created,omitempty"`

	PropertyID    int64  `json:"property_id,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	// Address is the first address line of the created property as the
	// 201 gave it (PDTF propertyPack.address.line1), so milestone outcomes
	// name it without reading the property; empty when the property was
	// reconciled (found by listing, which gives no line1).
	Address string `json:"address,omitempty"`
	// Reconciled is true when the property was found by listing after a
	// crash rather than from the 201.
	Reconciled bool `json:"reconciled,omitempty"`
	// MilestonesChecked is true once an auction's milestones were checked.
	MilestonesChecked bool `json:"milestones_checked,omitempty"`

	// Error and Fields are the API's refusal (StateRefused).
	Error  string              `json:"error,omitempty"`
	Fields map[string][]string `json:"fields,omitempty"`
}

// Ledger is the idempotency ledger in the LEDGER bucket: request_id →
// Entry under "req.<base64url(request_id)>", property id → request_id
// under "prop.<id>" (the claim that keeps reconciliation from adopting
// another request's property), and transaction id → request_id under
// "tx.<base64url(transaction id)>" (how the milestone and webhook workers
// find a property omq created without asking the API).
type Ledger struct {
	kv jetstream.KeyValue
}

// ErrNoEntry is returned by Ledger.Get for a request_id never seen.
var ErrNoEntry = errors.New("properties: no ledger entry")

// OpenLedger opens the LEDGER bucket of topology (provisioned by
// streams.Apply).
func OpenLedger(ctx context.Context, js jetstream.JetStream, topology streams.Topology) (*Ledger, error) {
	kv, err := js.KeyValue(ctx, topology.WithDefaults().LedgerBucket())
	if err != nil {
		return nil, fmt.Errorf("open the ledger bucket %s: %w (run omq streams apply)", topology.WithDefaults().LedgerBucket(), err)
	}
	return &Ledger{kv: kv}, nil
}

// KV is the bucket under the ledger (the assignment loads share it).
func (l *Ledger) KV() jetstream.KeyValue { return l.kv }

// EntryKey is the ledger key of a request_id.
func EntryKey(requestID string) string {
	return "req." + base64.RawURLEncoding.EncodeToString([]byte(requestID))
}

func claimKey(propertyID int64) string { return "prop." + strconv.FormatInt(propertyID, 10) }

func txKey(transactionID string) string {
	return "tx." + base64.RawURLEncoding.EncodeToString([]byte(transactionID))
}

// Get returns the entry of requestID and its revision, or ErrNoEntry.
func (l *Ledger) Get(ctx context.Context, requestID string) (Entry, uint64, error) {
	kve, err := l.kv.Get(ctx, EntryKey(requestID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{}, 0, ErrNoEntry
	}
	if err != nil {
		return Entry{}, 0, failure.TransientError(fmt.Errorf("read ledger: %w", err))
	}
	var e Entry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		return Entry{}, 0, failure.PermanentError(fmt.Errorf("ledger entry of %s is corrupt: %w", requestID, err))
	}
	return e, kve.Revision(), nil
}

// errConflict means another writer changed the entry since it was read.
var errConflict = errors.New("ledger entry changed by another attempt")

// put writes e if the key is still at rev (0: absent) and returns the new
// revision. A lost race is errConflict (Transient).
func (l *Ledger) put(ctx context.Context, e Entry, rev uint64) (uint64, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return 0, failure.PermanentError(err)
	}
	if rev == 0 {
		rev, err = l.kv.Create(ctx, EntryKey(e.RequestID), b)
	} else {
		rev, err = l.kv.Update(ctx, EntryKey(e.RequestID), b, rev)
	}
	if err == nil {
		return rev, nil
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
		return 0, failure.TransientError(fmt.Errorf("request %s: %w", e.RequestID, errConflict))
	}
	return 0, failure.TransientError(fmt.Errorf("write ledger: %w", err))
}

// claim records that propertyID belongs to requestID; a claim that exists
// is left alone.
func (l *Ledger) claim(ctx context.Context, propertyID int64, requestID string) error {
	_, err := l.kv.Create(ctx, claimKey(propertyID), []byte(requestID))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	return nil
}

// claimedBy returns the request_id that claimed propertyID, "" if none.
func (l *Ledger) claimedBy(ctx context.Context, propertyID int64) (string, error) {
	kve, err := l.kv.Get(ctx, claimKey(propertyID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(kve.Value()), nil
}

// index records that transactionID was created for requestID; an index that
// exists is left alone.
func (l *Ledger) index(ctx context.Context, transactionID, requestID string) error {
	_, err := l.kv.Create(ctx, txKey(transactionID), []byte(requestID))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	return nil
}

// ByTransaction returns the created entry of the property omq created
// with transaction id tx, or ErrNoEntry when omq did not create it (or
// created it before the ledger kept this index).
func (l *Ledger) ByTransaction(ctx context.Context, tx string) (Entry, error) {
	kve, err := l.kv.Get(ctx, txKey(tx))
	return l.created(ctx, kve, err)
}

// ByPropertyID returns the created entry of the property omq created with
// numeric id pid, or ErrNoEntry.
func (l *Ledger) ByPropertyID(ctx context.Context, pid int64) (Entry, error) {
	kve, err := l.kv.Get(ctx, claimKey(pid))
	return l.created(ctx, kve, err)
}

// created follows an index entry (its value a request_id) to a created
// entry.
func (l *Ledger) created(ctx context.Context, kve jetstream.KeyValueEntry, err error) (Entry, error) {
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{}, ErrNoEntry
	}
	if err != nil {
		return Entry{}, failure.TransientError(fmt.Errorf("read ledger: %w", err))
	}
	e, _, err := l.Get(ctx, string(kve.Value()))
	if err == nil && e.State != StateCreated {
		return Entry{}, ErrNoEntry
	}
	return e, err
}
