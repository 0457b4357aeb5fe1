package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

// ErrInvalidLimits is wrapped by every error Limits.Validate returns.
var ErrInvalidLimits = errors.New("budget: invalid limits")

// ErrSpent is wrapped by the Throttled error Take returns.
var ErrSpent = errors.New("API budget spent")

// key is the one bucket key holding the budget.
const key = "api"

// casTries bounds the compare-and-set retries of one Take.
const casTries = 64

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
	// mutations. Default PerMinute/10; -1 for none.
	ReadReserve int
	// Logger receives the budget's logs. Default: discard.
	Logger *slog.Logger
	// Store, if set, is told the outcome of every write to the bucket, so
	// that /readyz can say when NATS refuses them (a full store).
	Store *natserr.Watch
}

// The API's published limits: Limits' defaults, and --budget-per-hour's and
// --budget-per-minute's.
const (
	DefaultPerHour   = 1000
	DefaultPerMinute = 100
)

// WithDefaults returns l with every unset field given its default.
func (l Limits) WithDefaults() Limits {
	if l.PerHour == 0 {
		l.PerHour = DefaultPerHour
	}
	if l.PerMinute == 0 {
		l.PerMinute = DefaultPerMinute
	}
	if l.Hour == 0 {
		l.Hour = time.Hour
	}
	if l.Minute == 0 {
		l.Minute = l.Hour / 60
	}
	if l.ReadReserve == 0 {
		l.ReadReserve = l.PerMinute / 10
	}
	if l.ReadReserve < 0 {
		l.ReadReserve = 0
	}
	if l.Logger == nil {
		l.Logger = slog.New(slog.DiscardHandler)
	}
	return l
}

// Validate names the first unusable field.
func (l Limits) Validate() error {
	switch {
	case l.PerHour < 1 || l.PerMinute < 1 || l.PerMinute > l.PerHour:
		return fmt.Errorf("%w: PerHour and PerMinute must be positive with PerMinute ≤ PerHour, got %d and %d", ErrInvalidLimits, l.PerHour, l.PerMinute)
	case l.Hour <= 0 || l.Minute <= 0 || l.Minute > l.Hour:
		return fmt.Errorf("%w: Hour and Minute must be positive with Minute ≤ Hour, got %s and %s", ErrInvalidLimits, l.Hour, l.Minute)
	case l.ReadReserve >= l.PerMinute:
		return fmt.Errorf("%w: ReadReserve must be below PerMinute (%d), got %d", ErrInvalidLimits, l.PerMinute, l.ReadReserve)
	}
	return nil
}

// state is the bucket value: two fixed windows and a stop.
type state struct {
	HourStart time.Time `json:"hour_start"`
	HourUsed  int       `json:"hour_used"`
	MinStart  time.Time `json:"minute_start"`
	MinUsed   int       `json:"minute_used"`
	// StopUntil stops every taker (a 429, or an answer with nothing left).
	StopUntil time.Time `json:"stop_until"`
}

// roll opens new windows where the old ones have passed.
func (s *state) roll(now time.Time, l Limits) {
	if !now.Before(s.HourStart.Add(l.Hour)) {
		s.HourStart, s.HourUsed = now, 0
	}
	if !now.Before(s.MinStart.Add(l.Minute)) {
		s.MinStart, s.MinUsed = now, 0
	}
}

// Budget is the shared API budget. It is safe for concurrent use.
type Budget struct {
	kv     jetstream.KeyValue
	limits Limits
	log    *slog.Logger
	store  *natserr.Watch
	// mu serialises this process's takers, so compare-and-set only races
	// other replicas.
	mu sync.Mutex
}

// New opens the topology's BUDGET bucket (streams.Apply provisions it).
func New(ctx context.Context, js jetstream.JetStream, top streams.Topology, l Limits) (*Budget, error) {
	l = l.WithDefaults()
	if err := l.Validate(); err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, top.BudgetBucket())
	if err != nil {
		return nil, fmt.Errorf("budget: open bucket %s (run omq streams apply): %w", top.BudgetBucket(), err)
	}
	return &Budget{kv: kv, limits: l, log: l.Logger, store: l.Store}, nil
}

// Limits returns the limits in force, defaults filled.
func (b *Budget) Limits() Limits { return b.limits }

// Take spends one token, or returns a failure.Throttled error whose wait
// (failure.WaitOf) is when a token may be free: when the window is spent (for
// a read: spent down to the reserve, and then the error also wraps
// failure.ErrReadsOnly), or a 429 stopped every taker. mutation
// is true for calls that change state (POST, PATCH). Errors of the bucket
// itself are Transient and name NATS (a store that refuses the write says
// so, rather than passing for contention between replicas).
func (b *Budget) Take(ctx context.Context, mutation bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	reserve := b.limits.ReadReserve
	if mutation {
		reserve = 0
	}
	for range casTries {
		s, rev, err := b.read(ctx)
		if err != nil {
			return failure.TransientError(fmt.Errorf("budget: cannot read the bucket from NATS: %w", natserr.Explain(err)))
		}
		now := time.Now()
		if now.Before(s.StopUntil) {
			return failure.ThrottledError(fmt.Errorf("%w: the API said to wait", ErrSpent), s.StopUntil.Sub(now))
		}
		s.roll(now, b.limits)
		var wait time.Duration
		if s.HourUsed >= b.limits.PerHour-reserve {
			wait = s.HourStart.Add(b.limits.Hour).Sub(now)
		}
		if s.MinUsed >= b.limits.PerMinute-reserve {
			wait = max(wait, s.MinStart.Add(b.limits.Minute).Sub(now))
		}
		if wait > 0 && !mutation && s.HourUsed < b.limits.PerHour && s.MinUsed < b.limits.PerMinute {
			return failure.ThrottledError(fmt.Errorf("%w: %w", ErrSpent, failure.ErrReadsOnly), wait)
		}
		if wait > 0 {
			return failure.ThrottledError(ErrSpent, wait)
		}
		s.HourUsed++
		s.MinUsed++
		err = b.write(ctx, s, rev)
		b.store.Observe(err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return failure.TransientError(fmt.Errorf("budget: %w", ctx.Err()))
		}
		// Only a lost compare-and-set is contention; anything else is NATS
		// refusing the write, which no number of tries mends.
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return failure.TransientError(fmt.Errorf("budget: NATS refused the write to the bucket: %w", natserr.Explain(err)))
		}
	}
	return failure.ThrottledError(fmt.Errorf("%w: too much contention on the budget", ErrSpent), b.limits.Minute/100)
}

// Observe corrects the budget with an answer's X-RateLimit-* headers: it
// never believes it has more left than the API says, nor that the window
// resets sooner. An answer with nothing left stops every taker until Reset.
func (b *Budget) Observe(rl openmoove.RateLimit) {
	if rl.Remaining < 0 || rl.Reset.IsZero() {
		return
	}
	b.update(func(s *state, now time.Time) bool {
		changed := false
		if rl.Remaining == 0 && rl.Reset.After(s.StopUntil) {
			s.StopUntil, changed = rl.Reset, true
		}
		// Reset names the window that binds: the minute when it is due
		// within a minute (and a second: Reset is rounded up), else the hour.
		minute := rl.Reset.Sub(now) <= b.limits.Minute+time.Second
		same := b.limits.Hour == b.limits.Minute
		correct := func(start *time.Time, used *int, length time.Duration, limit int) {
			if st := rl.Reset.Add(-length); st.After(*start) {
				*start, changed = st, true
			}
			if u := limit - rl.Remaining; u > *used {
				*used, changed = u, true
			}
		}
		if minute || same {
			correct(&s.MinStart, &s.MinUsed, b.limits.Minute, b.limits.PerMinute)
		}
		if !minute || same {
			correct(&s.HourStart, &s.HourUsed, b.limits.Hour, b.limits.PerHour)
		}
		return changed
	})
}

// Stop429 stops every taker of every replica until until (a 429's reset).
func (b *Budget) Stop429(until time.Time) {
	b.update(func(s *state, _ time.Time) bool {
		if until.After(s.StopUntil) {
			s.StopUntil = until
			return true
		}
		return false
	})
	b.log.Warn("API answered 429: every replica waits", "until", until)
}

// update applies fn with compare-and-set; fn reports whether it changed s.
func (b *Budget) update(fn func(s *state, now time.Time) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range casTries {
		s, rev, err := b.read(ctx)
		if err != nil {
			b.log.Warn("budget: cannot read the bucket", "error", err)
			return
		}
		now := time.Now()
		s.roll(now, b.limits)
		if !fn(&s, now) {
			return
		}
		if b.write(ctx, s, rev) == nil {
			return
		}
	}
}

// Left returns the tokens left in the hour and the minute windows.
func (b *Budget) Left(ctx context.Context) (hour, minute int, err error) {
	s, _, err := b.read(ctx)
	if err != nil {
		return 0, 0, err
	}
	s.roll(time.Now(), b.limits)
	return b.limits.PerHour - s.HourUsed, b.limits.PerMinute - s.MinUsed, nil
}

// Hooks returns cfg with BeforeRequest taking a token before every call and
// OnRateLimit feeding Observe; hooks cfg already had run after them.
func (b *Budget) Hooks(cfg openmoove.Config) openmoove.Config {
	before, onRL := cfg.BeforeRequest, cfg.OnRateLimit
	cfg.BeforeRequest = func(ctx context.Context, r openmoove.RequestInfo) error {
		if err := b.Take(ctx, r.Mutation); err != nil {
			return err
		}
		if before != nil {
			return before(ctx, r)
		}
		return nil
	}
	cfg.OnRateLimit = func(rl openmoove.RateLimit) {
		b.Observe(rl)
		if onRL != nil {
			onRL(rl)
		}
	}
	return cfg
}

func (b *Budget) read(ctx context.Context) (state, uint64, error) {
	var s state
	e, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return s, 0, nil
	}
	if err != nil {
		return s, 0, err
	}
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return state{}, e.Revision(), nil // a broken value is overwritten
	}
	return s, e.Revision(), nil
}

func (b *Budget) write(ctx context.Context, s state, rev uint64) error {
	v, _ := json.Marshal(s)
	var err error
	if rev == 0 {
		_, err = b.kv.Create(ctx, key, v)
	} else {
		_, err = b.kv.Update(ctx, key, v, rev)
	}
	return err
}

// Snapshot is the shared budget as every replica sees it now.
type Snapshot struct {
	HourLeft, MinuteLeft int
	// HourReset and MinuteReset are when each window starts afresh.
	HourReset, MinuteReset time.Time
	// StoppedUntil is when a 429's stop ends; zero when none is in force.
	StoppedUntil time.Time
}

// Snapshot reads the budget without spending from it (omq status).
func (b *Budget) Snapshot(ctx context.Context) (Snapshot, error) {
	s, _, err := b.read(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	now := time.Now()
	s.roll(now, b.limits)
	snap := Snapshot{HourLeft: b.limits.PerHour - s.HourUsed, MinuteLeft: b.limits.PerMinute - s.MinUsed,
		HourReset: s.HourStart.Add(b.limits.Hour), MinuteReset: s.MinStart.Add(b.limits.Minute)}
	if now.Before(s.StopUntil) {
		snap.StoppedUntil = s.StopUntil
	}
	return snap, nil
}
