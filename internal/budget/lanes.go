package budget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmoove/omq/events"
)

// ErrLaneYield is wrapped (with ErrSpent) by the Throttled error Take returns
// when the window still has tokens, but not for the taker's lane: the live
// reserve, or live work waiting. The worker runtime then holds back only
// that lane, so live messages of the same worker go on.
var ErrLaneYield = errors.New("API budget kept for live work")

// Lane shares' defaults (--budget-lanes).
const (
	DefaultLiveReserve = 0.1
	DefaultLaneFloor   = 0.05
	// DefaultLanes is --budget-lanes' default, in its own syntax.
	DefaultLanes = "live-reserve=0.1,floor=0.05"
)

// Lanes are the shares of every window that the lanes of events.Lane get.
type Lanes struct {
	// Off turns lanes off: every taker is first come, first served (omq
	// before lanes; the benchmark's side-by-side run).
	Off bool
	// LiveReserve is the share of each window (hour and minute) only live
	// work may spend. Default 0.1; negative for none.
	LiveReserve float64
	// Floor is the share of each window every lower lane (bulk, replay,
	// reads) may spend even while live work waits, and live work leaves a
	// waiting lower lane. Default 0.05; negative for none.
	Floor float64
}

// ParseLanes reads --budget-lanes: "off", or comma-separated
// live-reserve=<share> and floor=<share> (shares from 0 to below 1; an
// omitted one keeps its default).
func ParseLanes(s string) (Lanes, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Lanes{}, nil
	}
	if s == "off" {
		return Lanes{Off: true}, nil
	}
	var l Lanes
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || math.IsNaN(f) || f < 0 || f >= 1 {
			return Lanes{}, fmt.Errorf("%w: budget lanes %q: want off, or live-reserve=<share>,floor=<share> with shares from 0 to below 1 (e.g. %s)", ErrInvalidLimits, s, DefaultLanes)
		}
		if f == 0 {
			f = -1 // explicit none, as distinct from the default
		}
		switch strings.TrimSpace(k) {
		case "live-reserve":
			l.LiveReserve = f
		case "floor":
			l.Floor = f
		default:
			return Lanes{}, fmt.Errorf("%w: budget lanes %q: unknown share %q; the shares are live-reserve and floor (e.g. %s), or off", ErrInvalidLimits, s, k, DefaultLanes)
		}
	}
	return l, nil
}

// LimitsOf is the Limits of omq's settings (--budget-per-hour,
// --budget-per-minute, --budget-lanes), which config has validated: a
// --budget-lanes it could not read would have stopped omq before.
func LimitsOf(perHour, perMinute int, lanes string) Limits {
	l, _ := ParseLanes(lanes)
	return Limits{PerHour: perHour, PerMinute: perMinute, Lanes: l}
}

// withDefaults fills unset shares.
func (l Lanes) withDefaults() Lanes {
	if l.LiveReserve == 0 {
		l.LiveReserve = DefaultLiveReserve
	}
	if l.Floor == 0 {
		l.Floor = DefaultLaneFloor
	}
	return l
}

func (l Lanes) validate() error {
	if l.Off {
		return nil
	}
	if l.LiveReserve >= 1 || l.Floor >= 1 {
		return fmt.Errorf("%w: budget lanes: live-reserve and floor must be below 1, got %g and %g", ErrInvalidLimits, l.LiveReserve, l.Floor)
	}
	return nil
}

// share is ⌈f·n⌉ tokens of a window of n, 0 for a negative share.
func share(f float64, n int) int {
	if f <= 0 {
		return 0
	}
	return int(math.Ceil(f * float64(n)))
}

type laneKey struct{}

type workKey struct{}

// WithLane returns ctx carrying the lane every API call made with it takes
// its token in. The worker runtime sets it from the message's lane header;
// the poller and the monitor set events.LaneReads.
func WithLane(ctx context.Context, l events.Lane) context.Context {
	return context.WithValue(ctx, laneKey{}, l)
}

// LaneOf is ctx's lane; live when none was set.
func LaneOf(ctx context.Context) events.Lane {
	if l, ok := ctx.Value(laneKey{}).(events.Lane); ok {
		return l
	}
	return events.LaneLive
}

// WithWork names the piece of work (a message: stream and sequence) whose
// calls ctx makes, so that the budget counts each waiting message once
// however often it is refused (omq_budget_lane_waiting).
func WithWork(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, workKey{}, id)
}

// WorkOf is the work id WithWork put in ctx, "" if none.
func WorkOf(ctx context.Context) string {
	id, _ := ctx.Value(workKey{}).(string)
	return id
}

// laneUse is one lane's spend in the current windows.
type laneUse struct {
	Hour   int `json:"hour"`
	Minute int `json:"minute"`
}

// waiter is one piece of work this replica saw refused.
type waiter struct {
	since, until time.Time
}

// waiters are this replica's refused work, by lane.
type waiters struct {
	mu sync.Mutex
	m  map[events.Lane]map[string]waiter
}

// refused records id as waiting until until; it returns the mark this
// replica leaves in the shared state for the lane.
func (w *waiters) refused(l events.Lane, id string, now, until time.Time) waitMark {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[events.Lane]map[string]waiter{}
	}
	if w.m[l] == nil {
		w.m[l] = map[string]waiter{}
	}
	wt, ok := w.m[l][id]
	if !ok {
		wt.since = now
	}
	wt.until = until
	w.m[l][id] = wt
	return w.markLocked(l, now)
}

// took forgets id; it returns the lane's mark (zero: none waits).
func (w *waiters) took(l events.Lane, id string, now time.Time) waitMark {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m[l], id)
	return w.markLocked(l, now)
}

// markLocked sums up the lane's waiting work, dropping what has not come
// back by its until (handed to another replica, or gone).
func (w *waiters) markLocked(l events.Lane, now time.Time) waitMark {
	var m waitMark
	for id, wt := range w.m[l] {
		if wt.until.Before(now) {
			delete(w.m[l], id)
			continue
		}
		m.N++
		if wt.until.After(m.Until) {
			m.Until = wt.until
		}
		if m.Since.IsZero() || wt.since.Before(m.Since) {
			m.Since = wt.since
		}
	}
	return m
}

// count is how many pieces of work of l wait here, and the oldest's wait.
func (w *waiters) count(l events.Lane, now time.Time) (n int, oldest time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.markLocked(l, now)
	if m.N == 0 {
		return 0, 0
	}
	return m.N, now.Sub(m.Since)
}

// waitMark is what one replica tells every other of its work of one lane
// waiting for a token: how many, since when, and until when it expects
// them back.
type waitMark struct {
	Until time.Time `json:"until"`
	N     int       `json:"n"`
	Since time.Time `json:"since"`
}

// newReplicaID names this Budget in the shared state's waiting marks.
func newReplicaID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// window is one of the state's two windows, as the lane rules see it.
type window struct {
	used, limit int
	start, end  time.Time
	spent       func(events.Lane) int
}

func (s *state) windows(l Limits) [2]window {
	spent := func(hour bool) func(events.Lane) int {
		return func(ln events.Lane) int {
			u := s.Lanes[ln]
			if hour {
				return u.Hour
			}
			return u.Minute
		}
	}
	return [2]window{
		{used: s.HourUsed, limit: l.PerHour, start: s.HourStart, end: s.HourStart.Add(l.Hour), spent: spent(true)},
		{used: s.MinUsed, limit: l.PerMinute, start: s.MinStart, end: s.MinStart.Add(l.Minute), spent: spent(false)},
	}
}

// releasedFrom is when the reserves open to every lane: the hour's last
// minute window (its last tenth when the hour is the minute). A live event
// that then finds the hour spent waits no more than a minute window for
// the reset, and a lane with no live traffic still spends the whole hour.
// The minute's reserve opens only then too: opening it within every minute
// would cost a lower lane a second hand-back per minute window, and the
// hour is the limit that binds.
func (s *state) releasedFrom(l Limits) time.Time {
	end := s.HourStart.Add(l.Hour)
	if l.Hour == l.Minute {
		return end.Add(-l.Minute / 10)
	}
	return end.Add(-l.Minute)
}

// waitingUntil is the latest mark any replica left for lane l, if after now.
func (s *state) waitingUntil(l events.Lane, now time.Time) time.Time {
	var latest time.Time
	for _, m := range s.Waiting[l] {
		if m.Until.After(now) && m.Until.After(latest) {
			latest = m.Until
		}
	}
	return latest
}

// laneWait is how long lane l must wait although the windows have tokens
// (0: it may take one). readReserve is what a read leaves for mutations.
func (b *Budget) laneWait(s *state, now time.Time, l events.Lane, readReserve int) time.Duration {
	lanes := b.limits.Lanes
	if lanes.Off {
		return 0
	}
	var wait time.Duration
	liveUntil := s.waitingUntil(events.LaneLive, now)
	release := s.releasedFrom(b.limits)
	for _, w := range s.windows(b.limits) {
		floor := share(lanes.Floor, w.limit)
		if l == events.LaneLive {
			// Live work leaves every waiting lower lane the rest of its floor.
			owed := 0
			for _, low := range events.Lanes()[1:] {
				if !s.waitingUntil(low, now).IsZero() {
					owed += max(0, floor-w.spent(low))
				}
			}
			if owed > 0 && w.used >= w.limit-readReserve-owed {
				wait = max(wait, w.end.Sub(now))
			}
			continue
		}
		if w.spent(l) < floor && w.used < w.limit-readReserve {
			continue // the floor: even from the reserve, even while live waits
		}
		if !liveUntil.IsZero() {
			until := liveUntil
			if w.end.Before(until) {
				until = w.end
			}
			wait = max(wait, until.Sub(now))
			continue
		}
		// The live reserve lies above the read reserve, so that live reads
		// (which leave the read reserve to mutations) have it too.
		reserve := share(lanes.LiveReserve, w.limit) + b.limits.ReadReserve
		if now.Before(release) && w.used >= w.limit-reserve {
			until := release
			if w.end.Before(until) {
				until = w.end // the minute's reserve: the next minute window
			}
			wait = max(wait, until.Sub(now))
		}
	}
	return wait
}

// markWaiting leaves (or, with no work waiting, clears) this replica's mark
// for lane l; it reports whether the state changed. An until only a little
// later than the one recorded is not worth a write: the mark's margin
// covers it.
func (s *state) markWaiting(l events.Lane, replica string, m waitMark, slack time.Duration) bool {
	cur, ok := s.Waiting[l][replica]
	if m.N == 0 {
		if !ok {
			return false
		}
		delete(s.Waiting[l], replica)
		if len(s.Waiting[l]) == 0 {
			delete(s.Waiting, l)
		}
		return true
	}
	if ok && m.N == cur.N && m.Since.Equal(cur.Since) && !m.Until.After(cur.Until.Add(slack)) {
		return false
	}
	if s.Waiting == nil {
		s.Waiting = map[events.Lane]map[string]waitMark{}
	}
	if s.Waiting[l] == nil {
		s.Waiting[l] = map[string]waitMark{}
	}
	s.Waiting[l][replica] = m
	return true
}

// expire drops marks that have run out, so the value stays small.
func (s *state) expire(now time.Time) {
	for l, m := range s.Waiting {
		for r, wm := range m {
			if !wm.Until.After(now) {
				delete(m, r)
			}
		}
		if len(m) == 0 {
			delete(s.Waiting, l)
		}
	}
}

// spend counts one token of lane l.
func (s *state) spend(l events.Lane) {
	s.HourUsed++
	s.MinUsed++
	if s.Lanes == nil {
		s.Lanes = map[events.Lane]laneUse{}
	}
	u := s.Lanes[l]
	u.Hour++
	u.Minute++
	s.Lanes[l] = u
}

// LaneSnapshot is one lane in Snapshot.
type LaneSnapshot struct {
	Lane events.Lane
	// HourSpent and MinuteSpent are the tokens the lane spent in the
	// current windows, on every replica.
	HourSpent, MinuteSpent int
	// Waiting is how many messages of this replica wait for a token of the
	// lane; OldestWait the longest such wait so far.
	Waiting    int
	OldestWait time.Duration
	// AllWaiting and AllOldestWait are the same over every replica (as
	// they last wrote it).
	AllWaiting    int
	AllOldestWait time.Duration
}

// laneSnapshot is lane l in s, seen from b.
func (b *Budget) laneSnapshot(s *state, l events.Lane, now time.Time) LaneSnapshot {
	ls := LaneSnapshot{Lane: l, HourSpent: s.Lanes[l].Hour, MinuteSpent: s.Lanes[l].Minute}
	ls.Waiting, ls.OldestWait = b.waiting.count(l, now)
	for _, m := range s.Waiting[l] {
		if m.Until.After(now) && m.N > 0 {
			ls.AllWaiting += m.N
			ls.AllOldestWait = max(ls.AllOldestWait, now.Sub(m.Since))
		}
	}
	return ls
}
