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
		bs := BreakerStatus{Worker: k}
		if st.Open && time.Now().Before(st.Until) {
			bs.Open, bs.Until, bs.Reason = true, st.Until, st.Reason
		}
		out = append(out, bs)
	}
	return out, nil
}
