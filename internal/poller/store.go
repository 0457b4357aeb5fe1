package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/streams"
)

// Tracked is one property the poller follows, as the TRACKING bucket holds
// it under "tx.<transaction id>".
type Tracked struct {
	TransactionID string `json:"transaction_id"`
	// PropertyID is the numeric id, learned from property_created, a
	// webhook or the first poll; 0 until then.
	PropertyID int64 `json:"property_id,omitempty"`
	// Source says who asked for it: "property_created", "webhook" or "cli".
	Source string    `json:"source"`
	Since  time.Time `json:"since"`
	// Snapshot is what the last poll saw; nil before the first poll, which
	// only records it (announcing nothing).
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	// NextPoll is when the property is due for its next poll.
	NextPoll time.Time `json:"next_poll"`
	// LastError is the last poll's failure, cleared by a good poll.
	LastError string `json:"last_error,omitempty"`
	// GoneSince is when a poll first found the property gone from
	// OpenMoove (404), zero while the API has it. The snapshot is kept: it
	// is the last thing known, but no longer the state of a live property.
	GoneSince time.Time `json:"gone_since,omitzero"`

	revision uint64
}

// Sources of tracking.
const (
	SourceCreated = "property_created"
	SourceWebhook = "webhook"
	SourceCLI     = "cli"
)

// ErrNotTracked is returned for a transaction the poller does not follow.
var ErrNotTracked = errors.New("poller: transaction not tracked")

// ErrInvalidTransaction is wrapped when a transaction id is not a UUID.
var ErrInvalidTransaction = errors.New("poller: invalid transaction id")

// Store is the TRACKING bucket: tracked properties with their snapshots
// ("tx.<id>"), the numeric-id index ("pid.<n>" → transaction id) and the
// monitor's alert marks ("alert.…"). It is safe for concurrent use; writes
// of one property are compare-and-set, so replicas never lose each other's
// updates.
type Store struct {
	kv jetstream.KeyValue
}

// OpenStore opens topology's TRACKING bucket (streams.Apply provisions it).
func OpenStore(ctx context.Context, js jetstream.JetStream, top streams.Topology) (*Store, error) {
	top = top.WithDefaults()
	kv, err := js.KeyValue(ctx, top.TrackingBucket())
	if err != nil {
		return nil, fmt.Errorf("poller: open bucket %s (run omq streams apply): %w", top.TrackingBucket(), err)
	}
	return &Store{kv: kv}, nil
}

// KV is the bucket, for the monitor's alert marks.
func (s *Store) KV() jetstream.KeyValue { return s.kv }

// ValidTransaction checks that tx is a transaction UUID, the form the
// bucket keys and the API paths use.
func ValidTransaction(tx string) error {
	if _, err := uuid.Parse(tx); err != nil || strings.ContainsAny(tx, "{}:") || len(tx) != 36 {
		return fmt.Errorf("%w: %q is not a transaction UUID such as 3f2b…-…; omq track takes the transactionId", ErrInvalidTransaction, tx)
	}
	return nil
}

func txKey(tx string) string  { return "tx." + strings.ToLower(tx) }
func pidKey(pid int64) string { return "pid." + strconv.FormatInt(pid, 10) }
func bucketErr(err error) error {
	return failure.TransientError(fmt.Errorf("poller: tracking bucket: %w", err))
}

// Track starts following tx (idempotent: an existing entry only learns a
// missing property id). It returns true when tx was not tracked before.
// The first poll is due at once.
func (s *Store) Track(ctx context.Context, tx string, pid int64, source string, now time.Time) (bool, error) {
	if err := ValidTransaction(tx); err != nil {
		return false, failure.PermanentError(err)
	}
	tx = strings.ToLower(tx)
	for range 5 {
		t, err := s.Get(ctx, tx)
		if errors.Is(err, ErrNotTracked) {
			// The index first: whoever sees the entry can find it by id.
			if err := s.index(ctx, pid, tx); err != nil {
				return false, err
			}
			t = &Tracked{TransactionID: tx, PropertyID: pid, Source: source, Since: now, NextPoll: now}
			if err := s.create(ctx, t); errors.Is(err, jetstream.ErrKeyExists) {
				continue
			} else if err != nil {
				return false, err
			}
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if t.PropertyID != 0 || pid == 0 {
			return false, nil
		}
		if err := s.index(ctx, pid, tx); err != nil {
			return false, err
		}
		t.PropertyID = pid
		if err := s.Save(ctx, t); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return false, err
		}
		return false, nil
	}
	return false, bucketErr(errors.New("too many concurrent updates"))
}

// Untrack stops following tx. It returns ErrNotTracked when tx was not
// followed.
func (s *Store) Untrack(ctx context.Context, tx string) error {
	t, err := s.Get(ctx, tx)
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, txKey(tx)); err != nil {
		return bucketErr(err)
	}
	if t.PropertyID != 0 {
		_ = s.kv.Delete(ctx, pidKey(t.PropertyID))
	}
	return nil
}

// Get returns the entry of tx, or ErrNotTracked.
func (s *Store) Get(ctx context.Context, tx string) (*Tracked, error) {
	e, err := s.kv.Get(ctx, txKey(tx))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotTracked, tx)
	}
	if err != nil {
		return nil, bucketErr(err)
	}
	var t Tracked
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, failure.PermanentError(fmt.Errorf("poller: entry %s is not JSON: %w", e.Key(), err))
	}
	t.revision = e.Revision()
	return &t, nil
}

// ByPropertyID returns the entry of the property with numeric id pid, or
// ErrNotTracked.
func (s *Store) ByPropertyID(ctx context.Context, pid int64) (*Tracked, error) {
	e, err := s.kv.Get(ctx, pidKey(pid))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: property %d", ErrNotTracked, pid)
	}
	if err != nil {
		return nil, bucketErr(err)
	}
	return s.Get(ctx, string(e.Value()))
}

// List returns every tracked property, in no particular order.
func (s *Store) List(ctx context.Context) ([]*Tracked, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "tx.*")
	if err != nil {
		return nil, bucketErr(err)
	}
	var out []*Tracked
	for k := range lister.Keys() {
		t, err := s.Get(ctx, strings.TrimPrefix(k, "tx."))
		if errors.Is(err, ErrNotTracked) {
			continue // untracked meanwhile
		}
		if err != nil {
			_ = lister.Stop()
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ErrConflict is returned by Save when the entry changed since it was read.
var ErrConflict = errors.New("poller: tracked entry changed meanwhile")

// Save writes t back if nobody changed it since it was read (Get, List),
// else returns ErrConflict; a deleted entry (untracked meanwhile) returns
// ErrNotTracked.
func (s *Store) Save(ctx context.Context, t *Tracked) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	rev, err := s.kv.Update(ctx, txKey(t.TransactionID), b, t.revision)
	if err != nil {
		if _, gerr := s.kv.Get(ctx, txKey(t.TransactionID)); errors.Is(gerr, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s", ErrNotTracked, t.TransactionID)
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return ErrConflict
		}
		return bucketErr(err)
	}
	t.revision = rev
	return nil
}

func (s *Store) create(ctx context.Context, t *Tracked) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	rev, err := s.kv.Create(ctx, txKey(t.TransactionID), b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		return bucketErr(err)
	}
	t.revision = rev
	return nil
}

func (s *Store) index(ctx context.Context, pid int64, tx string) error {
	if pid == 0 {
		return nil
	}
	if _, err := s.kv.Put(ctx, pidKey(pid), []byte(tx)); err != nil {
		return bucketErr(err)
	}
	return nil
}
