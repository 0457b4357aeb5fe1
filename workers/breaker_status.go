package workers

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/streams"
)

// BreakerStatus is one worker's breaker as every replica sees it.
type BreakerStatus struct {
	Worker string    `json:"worker"`
	Open   bool      `json:"open"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// Pause is the length of the pause in force; the next one, if the
	// probe fails, doubles it up to PauseMax.
	Pause time.Duration `json:"pause,omitempty"`
	// NextProbe is the latest the instance that opened the breaker probes
	// the API: shortly before Until. It also probes every ProbeEvery (10s)
	// before then.
	NextProbe time.Time `json:"next_probe,omitzero"`
	// Group is the worker's breaker group; OpenedBy, when set, the worker
	// of the group whose failures opened the pause this one follows.
	Group    string `json:"group,omitempty"`
	OpenedBy string `json:"opened_by,omitempty"`
}

// Breakers reads every worker's breaker from the BREAKER bucket, for
// omq status. A breaker whose pause has ended reads as closed.
func Breakers(ctx context.Context, js jetstream.JetStream, top streams.Topology) ([]BreakerStatus, error) {
	kv, err := js.KeyValue(ctx, top.BreakerBucket())
	if err != nil {
		return nil, err
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	out := make([]BreakerStatus, 0, len(keys))
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var st breakerState
		if json.Unmarshal(e.Value(), &st) != nil {
			continue
		}
		bs := BreakerStatus{Worker: k, Group: st.Group}
		if st.Open && time.Now().Before(st.Until) {
			bs.Open, bs.Until, bs.Reason, bs.Pause = true, st.Until, st.Reason, st.Pause
			bs.NextProbe = st.Until.Add(-probeLead(st.Pause))
			bs.OpenedBy = st.From
		}
		out = append(out, bs)
	}
	return out, nil
}

// errBreakerClosed: the breaker was not open, nothing to clear.
var errBreakerClosed = errors.New("breaker not open")

// CloseBreaker records in the BREAKER bucket that the API is back, as the
// worker's own successful probe would, and resumes the worker's consumer
// on stream now: every replica watching the bucket fetches again at once,
// and the probe the opener had scheduled stands down. Call it only after a
// probe succeeded (omq breaker resume). wasOpen says whether the breaker
// was open; the consumer is resumed either way (a pause set by hand ends
// too).
func CloseBreaker(ctx context.Context, js jetstream.JetStream, top streams.Topology, worker, stream string) (wasOpen bool, err error) {
	kv, err := js.KeyValue(ctx, top.BreakerBucket())
	if err != nil {
		return false, err
	}
	// Resumed before the replicas see the breaker closed and fetch: a pull
	// parked on a paused consumer is not woken by the resume.
	if _, err := js.ResumeConsumer(ctx, stream, worker); err != nil {
		return false, err
	}
	err = clearBreaker(ctx, kv, worker)
	if err != nil && !errors.Is(err, errBreakerClosed) {
		return false, err
	}
	return err == nil, nil
}

// clearBreaker writes the closed state, compare-and-set against a replica
// tripping the breaker again meanwhile, and closes the rest of its group:
// the API answered, so every worker calling it may resume.
func clearBreaker(ctx context.Context, kv jetstream.KeyValue, worker string) error {
	st, err := clearKey(ctx, kv, worker)
	if err != nil || st.Group == "" {
		return err
	}
	keys, err := kv.Keys(ctx)
	if err != nil {
		return nil // the others' pauses run out by themselves
	}
	for _, k := range keys {
		if k == worker {
			continue
		}
		if e, err := kv.Get(ctx, k); err == nil {
			var o breakerState
			if json.Unmarshal(e.Value(), &o) == nil && o.Group == st.Group {
				_, _ = clearKey(ctx, kv, k)
			}
		}
	}
	return nil
}

// clearKey closes one key's breaker and returns the state it closed, or
// errBreakerClosed.
func clearKey(ctx context.Context, kv jetstream.KeyValue, worker string) (breakerState, error) {
	var err error
	for range 10 {
		var e jetstream.KeyValueEntry
		e, err = kv.Get(ctx, worker)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return breakerState{}, errBreakerClosed
		}
		if err != nil {
			return breakerState{}, err
		}
		var st breakerState
		if json.Unmarshal(e.Value(), &st) != nil || !st.Open || !time.Now().Before(st.Until) {
			return breakerState{}, errBreakerClosed
		}
		v, _ := json.Marshal(breakerState{Pause: st.Pause, Group: st.Group})
		if _, err = kv.Update(ctx, worker, v, e.Revision()); err == nil {
			return st, nil
		}
	}
	return breakerState{}, err
}
