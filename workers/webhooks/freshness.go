package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/poller"
)

// MaxAhead is how far a webhook's timestamp may be ahead of its receipt,
// both on OpenMoove's clock (the receipt moved by the API client's
// ClockOffset). A stamp further ahead than its own API's clock would, once
// applied, make every genuine webhook of that milestone look older until
// the clocks caught up.
const MaxAhead = 5 * time.Minute

// Reasons a webhook is acknowledged without being applied, the label of
// omq_webhook_stale_total.
const (
	StaleTooOld     = "too_old"    // older than --webhook-max-age at receipt
	StaleSuperseded = "superseded" // older than the last one applied to the same milestone or property
)

// knownEvents are the event names that may label a metric; any other is
// "other", since a signed sender could name millions.
var knownEvents = map[string]bool{
	EventPropertyCreated:               true,
	EventPropertyUpdated:               true,
	EventMilestonePrefix + "updated":   true,
	EventMilestonePrefix + "completed": true,
	EventMilestonePrefix + "created":   true,
}

func eventLabel(event string) string {
	if knownEvents[event] {
		return event
	}
	return "other"
}

// timestamp reads the envelope's timestamp and refuses, as permanent, a
// webhook that cannot be placed in time: without one omq cannot tell it
// from a replay.
func timestamp(env envelope, received time.Time) (time.Time, error) {
	if env.Timestamp == "" {
		return time.Time{}, failure.PermanentError(fmt.Errorf("webhooks: %s webhook has no timestamp; omq applies a webhook only when it can tell it from a replay (want an RFC 3339 time such as 2024-01-15T10:30:00Z)", eventLabel(env.Event)))
	}
	at, err := events.ParseTime(env.Timestamp)
	if err != nil {
		return time.Time{}, failure.PermanentError(fmt.Errorf("webhooks: %s webhook timestamp is not RFC 3339 (want a time such as 2024-01-15T10:30:00Z)", eventLabel(env.Event)))
	}
	if ahead := at.Sub(received); ahead > MaxAhead {
		return time.Time{}, failure.PermanentError(fmt.Errorf("webhooks: %s webhook timestamp %s is %s ahead of its receipt (at most %s accepted): check the clock of this host (NTP), then replay the dead letter",
			eventLabel(env.Event), at.UTC().Format(time.RFC3339), ahead.Round(time.Second), MaxAhead))
	}
	return at, nil
}

// stamp is the last webhook applied to one milestone ("webhook.<pid>.<id>")
// or one property ("webhook.<pid>") in the MILESTONES bucket. It outlives
// the cache entry and the snapshot, which other workers rebuild from the
// API, and exists for properties omq neither caches nor tracks.
type stamp struct {
	At time.Time `json:"at"`
	// Milestone is the state that webhook applied (milestones only), so a
	// replica that applied an older one meanwhile can put it back.
	Milestone *poller.Milestone `json:"milestone,omitempty"`
	rev       uint64
}

func milestoneKey(pid, id int64) string {
	return "webhook." + strconv.FormatInt(pid, 10) + "." + strconv.FormatInt(id, 10)
}

func propertyKey(pid int64) string { return "webhook." + strconv.FormatInt(pid, 10) }

var errStampMoved = errors.New("webhooks: stamp changed meanwhile")

type stamps struct{ kv jetstream.KeyValue }

// get returns the stamp under key, or nil when none was written. An
// unreadable one is returned empty, so the next claim overwrites it.
func (s stamps) get(ctx context.Context, key string) (*stamp, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, failure.TransientError(fmt.Errorf("webhooks: read %s: %w", key, err))
	}
	var st stamp
	if json.Unmarshal(e.Value(), &st) != nil {
		st = stamp{}
	}
	st.rev = e.Revision()
	return &st, nil
}

// claim writes next under key if it still holds prev (compare-and-set, so
// two replicas never both believe they applied the newest); errStampMoved
// when it does not.
func (s stamps) claim(ctx context.Context, key string, next stamp, prev *stamp) error {
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if prev == nil {
		_, err = s.kv.Create(ctx, key, b)
	} else {
		_, err = s.kv.Update(ctx, key, b, prev.rev)
	}
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyExists),
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence:
		return errStampMoved
	}
	return failure.TransientError(fmt.Errorf("webhooks: write %s: %w", key, err))
}

// older reports whether a webhook at is older than the stamp. An equal
// time is not older: OpenMoove's timestamps have whole seconds, so two
// changes within one second tie, and a tie is settled by the caller.
func (st *stamp) older(at time.Time) bool { return st != nil && at.Before(st.At) }
