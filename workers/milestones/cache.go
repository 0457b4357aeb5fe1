package milestones

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

// entry is what the MILESTONES bucket holds for one transaction (key: the
// transaction id as the events name it).
type entry struct {
	FetchedAt  time.Time `json:"fetched_at"`
	Milestones []cached  `json:"milestones"`
	// Address is the property's first address line, read once when the
	// first outcome needs it; HasAddress tells an empty address from an
	// unread one.
	Address    string `json:"address,omitempty"`
	HasAddress bool   `json:"has_address,omitempty"`
	// AddressLooked: the address was looked for (ledger) and is not known
	// without a read; later events need not look again.
	AddressLooked bool `json:"address_looked,omitempty"`
	// Partial is true for an entry the webhook worker filled from
	// property.milestone.created and property.created webhooks (FillCache)
	// rather than from a read: it may lack milestones, so only an event's
	// first candidate is trusted in it.
	Partial bool `json:"partial,omitempty"`
	// fresh is true when the milestones were read from the API during this
	// delivery (never stored).
	fresh bool
	// expired is true when the entry is older than the cache's maxAge: its
	// milestones are read again, what omq alone knows is kept (never
	// stored).
	expired bool
}

type cached struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Completed bool   `json:"completed"`
	// EventID is the event that omq completed it for; a redelivery of that
	// event republishes its outcome instead of counting it as already done.
	EventID string `json:"event_id,omitempty"`
}

func newEntry(ms []openmoove.Milestone, now time.Time) *entry {
	e := &entry{FetchedAt: now, fresh: true, Milestones: make([]cached, len(ms))}
	for i, m := range ms {
		e.Milestones[i] = cached{ID: m.ID, Name: m.Name, Completed: m.Completed}
	}
	return e
}

// keep carries what omq knows and the API does not say (the address, which
// event completed what) from an old entry into a fresh one.
func (e *entry) keep(old *entry) {
	if old == nil {
		return
	}
	e.Address, e.HasAddress, e.AddressLooked = old.Address, old.HasAddress, old.AddressLooked
	for i := range e.Milestones {
		for _, o := range old.Milestones {
			if o.ID == e.Milestones[i].ID && o.Completed && e.Milestones[i].Completed {
				e.Milestones[i].EventID = o.EventID
			}
		}
	}
}

func (e *entry) find(name string) *cached {
	for i := range e.Milestones {
		if e.Milestones[i].Name == name {
			return &e.Milestones[i]
		}
	}
	return nil
}

func (e *entry) names() []string {
	out := make([]string, len(e.Milestones))
	for i, m := range e.Milestones {
		out[i] = m.Name
	}
	return out
}

// cache reads and writes entries in the MILESTONES bucket.
type cache struct {
	kv     jetstream.KeyValue
	maxAge time.Duration
}

// get returns the entry for tx, or nil when absent or unreadable; one
// older than maxAge comes back expired.
func (c *cache) get(ctx context.Context, tx string, now time.Time) (*entry, error) {
	kve, err := c.kv.Get(ctx, tx)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, failure.TransientError(fmt.Errorf("read milestone cache for %s: %w", tx, err))
	}
	var e entry
	if json.Unmarshal(kve.Value(), &e) != nil {
		return nil, nil
	}
	e.expired = now.Sub(e.FetchedAt) > c.maxAge
	return &e, nil
}

func (c *cache) put(ctx context.Context, tx string, e *entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := c.kv.Put(ctx, tx, b); err != nil {
		return failure.TransientError(fmt.Errorf("write milestone cache for %s: %w", tx, err))
	}
	return nil
}

// locks serialises the events of one transaction inside a process, so that
// five events for a new transaction read its milestones once, not five
// times.
type locks struct {
	mu sync.Mutex
	m  map[string]*txLock
}

type txLock struct {
	ch   chan struct{}
	refs int
}

func (l *locks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*txLock{}
	}
	t := l.m[key]
	if t == nil {
		t = &txLock{ch: make(chan struct{}, 1)}
		l.m[key] = t
	}
	t.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if t.refs--; t.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
