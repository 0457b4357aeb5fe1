package milestones

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
)

// UpdateCache records in the MILESTONES bucket (kv) that milestone id
// ("name") of transaction tx is now completed or not, as a webhook (or a
// poll) saw it on OpenMoove, so the milestone worker neither completes it
// again nor believes a reopened one done. A transaction with no cached
// entry is left alone: the worker reads the API when it needs it. A
// milestone the entry lacks is added. Concurrent writers are safe (the
// write is compare-and-set). Errors of the bucket are Transient.
func UpdateCache(ctx context.Context, kv jetstream.KeyValue, tx string, id int64, name string, completed bool) error {
	for range 5 {
		kve, err := kv.Get(ctx, tx)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return failure.TransientError(fmt.Errorf("read milestone cache for %s: %w", tx, err))
		}
		var e entry
		if json.Unmarshal(kve.Value(), &e) != nil {
			return nil // unreadable: the worker reads the API instead
		}
		i := -1
		for j := range e.Milestones {
			if e.Milestones[j].ID == id {
				i = j
			}
		}
		switch {
		case i < 0:
			e.Milestones = append(e.Milestones, cached{ID: id, Name: name, Completed: completed})
		case e.Milestones[i].Completed == completed:
			return nil
		default:
			e.Milestones[i].Completed = completed
			if !completed {
				e.Milestones[i].EventID = ""
			}
		}
		b, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		if _, err := kv.Update(ctx, tx, b, kve.Revision()); err == nil {
			return nil
		}
	}
	return failure.TransientError(fmt.Errorf("milestone cache for %s: too many concurrent updates", tx))
}

// FillMilestone records in the MILESTONES bucket (kv) that transaction tx
// has milestone id ("name"), as a property.milestone.created webhook
// announced it, so the milestone worker can complete it without reading
// the list first. Unlike UpdateCache it creates an entry the worker has
// not (a partial one, trusted only for an event's first candidate) and
// never changes the state of a milestone the entry already holds: a late
// "created" must not reopen what the worker completed. Errors of the
// bucket are Transient.
func FillMilestone(ctx context.Context, kv jetstream.KeyValue, tx string, id int64, name string, completed bool, now time.Time) error {
	return fill(ctx, kv, tx, now, func(e *entry) bool {
		for _, m := range e.Milestones {
			if m.ID == id || m.Name == name {
				return false
			}
		}
		e.Milestones = append(e.Milestones, cached{ID: id, Name: name, Completed: completed})
		return true
	})
}

// FillAddress records the property's first address line for tx's outcomes,
// as a property.created webhook gave it, unless the entry has one.
func FillAddress(ctx context.Context, kv jetstream.KeyValue, tx, address string, now time.Time) error {
	return fill(ctx, kv, tx, now, func(e *entry) bool {
		if e.HasAddress {
			return false
		}
		e.Address, e.HasAddress = address, true
		return true
	})
}

// fill applies change to tx's entry (a new partial one when there is
// none) with compare-and-set; change reports whether it changed anything.
func fill(ctx context.Context, kv jetstream.KeyValue, tx string, now time.Time, change func(*entry) bool) error {
	for range 5 {
		var rev uint64
		e := entry{FetchedAt: now, Partial: true}
		kve, err := kv.Get(ctx, tx)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return failure.TransientError(fmt.Errorf("read milestone cache for %s: %w", tx, err))
		default:
			rev = kve.Revision()
			if json.Unmarshal(kve.Value(), &e) != nil {
				e = entry{FetchedAt: now, Partial: true} // unreadable: start again
			}
		}
		if !change(&e) {
			return nil
		}
		b, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = kv.Create(ctx, tx, b)
		} else {
			_, err = kv.Update(ctx, tx, b, rev)
		}
		if err == nil {
			return nil
		}
	}
	return failure.TransientError(fmt.Errorf("milestone cache for %s: too many concurrent updates", tx))
}
