package openmoove

import (
	"net/http"
	"sync/atomic"
	"time"
)

// apiClock is how far the API's clock is from the local one, as the Date
// header of its latest answer says.
type apiClock struct {
	offset atomic.Int64 // nanoseconds, whole seconds; 0 before any answer
}

// observe measures the offset from an answer's Date header, received at
// received (local clock). An answer without a readable Date changes
// nothing.
func (k *apiClock) observe(h http.Header, received time.Time) {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return
	}
	// Date has whole seconds, cut down: the API's time at receipt lies
	// within the second after it, so the middle of that second, rounded to
	// a second, keeps a clock that agrees with ours at an offset of 0
	// rather than jittering by a second from answer to answer.
	off := date.Add(500 * time.Millisecond).Sub(received).Round(time.Second)
	k.offset.Store(int64(off))
}

// Now returns the API's clock: the local clock plus the offset measured from
// the Date header of the latest answer (any status), in whole seconds, the
// resolution of Date. Before any answer it is the local clock.
//
// OpenMoove stamps due dates, is_overdue, invited_at and webhook timestamps
// with its own clock, so judge them against Now rather than time.Now: a
// skewed local clock (or the sandbox's moved one, whose Date follows
// AdvanceClock) then leaves the judgement right, to within a second plus
// the transit time of an answer.
func (c *Client) Now() time.Time {
	return time.Now().Add(time.Duration(c.clock.offset.Load()))
}

// ClockOffset returns how far the API's clock is ahead of the local one
// (negative: behind), as Now uses it; 0 before any answer.
func (c *Client) ClockOffset() time.Duration {
	return time.Duration(c.clock.offset.Load())
}
