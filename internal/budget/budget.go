package budget

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/streams"
	"github.com/openmoove/omq/openmoove"
)

// ErrInvalidLimits is wrapped by every error Limits.Validate returns.
var ErrInvalidLimits = errors.New("budget: invalid limits")

// Limits are the budget's windows.
type Limits struct {
	// PerHour is how many calls every replica together may make per Hour.
	// Default 1000.
	PerHour int
	// PerMinute is how many per Minute. Default 100.
	PerMinute int
	// Hour and Minute are the windows' lengths. Defaults 1h and Hour/60;
	// tests scale them down.
	Hour   time.Duration
	Minute time.Duration
	// ReadReserve is how many tokens of each window reads leave for
	// mutations. Default PerMinute/10, at least 1 (0 when PerMinute is 1).
	ReadReserve int
	// Logger receives the budget's logs. Default: discard.
	Logger *slog.Logger
}

// Budget is the shared API budget. It is safe for concurrent use.
type Budget struct {
	kv     jetstream.KeyValue
	limits Limits
}

// New opens the topology's BUDGET bucket (streams.Apply provisions it).
func New(ctx context.Context, js jetstream.JetStream, top streams.Topology, l Limits) (*Budget, error) {
	return nil, errors.New("budget: not implemented yet")
}

// Take spends one token, or returns a failure.Throttled error whose wait
// (failure.WaitOf) is when a token may be free: when the window is spent (for
// a read: spent down to the reserve), or a 429 stopped every taker. mutation
// is true for calls that change state (POST, PATCH). Errors of the bucket
// itself are Transient.
func (b *Budget) Take(ctx context.Context, mutation bool) error { return nil }

// Observe corrects the budget with an answer's X-RateLimit-* headers: it
// never believes it has more left than the API says, nor that the window
// resets sooner. An answer with nothing left stops every taker until Reset.
func (b *Budget) Observe(rl openmoove.RateLimit) {}

// Stop429 stops every taker of every replica until until (a 429's reset).
func (b *Budget) Stop429(until time.Time) {}

// Left returns the tokens left in the hour and the minute windows.
func (b *Budget) Left(ctx context.Context) (hour, minute int, err error) { return 0, 0, nil }

// Hooks returns cfg with BeforeRequest taking a token before every call and
// OnRateLimit feeding Observe; hooks cfg already had run after them.
func (b *Budget) Hooks(cfg openmoove.Config) openmoove.Config { return cfg }
