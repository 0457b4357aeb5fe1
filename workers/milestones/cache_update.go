package milestones

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
