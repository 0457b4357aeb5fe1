package webhookreceiver

import (
	"sync"
	"time"
)

// throttle lets one event through per interval and counts the rest, so the
// line that is logged can say how many were not.
type throttle struct {
	every time.Duration

	mu         sync.Mutex
	next       time.Time // zero: the next event passes
	suppressed int
}

// allow reports whether an event at now may be logged and, if so, how many
// were held back since the last one that was.
func (t *throttle) allow(now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	n := t.suppressed
	t.next, t.suppressed = now.Add(t.every), 0
	return true, n
}
