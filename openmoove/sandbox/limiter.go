package sandbox

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter enforces RateLimit per RateWindow and BurstLimit per BurstWindow
// for each key, with fixed windows that open at a key's first call. Like
// DRF's throttles, a refused call is not counted.
type limiter struct {
	limit, burst        int
	window, burstWindow time.Duration
	now                 func() time.Time

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	start, burstStart time.Time
	n, burstN         int
}

// verdict is the limiter's answer for one call, and the headers it implies.
type verdict struct {
	ok         bool
	limit      int
	remaining  int
	reset      time.Time
	retryAfter int // seconds, at least 1; set when !ok
}

func newLimiter(c Config) *limiter {
	return &limiter{limit: c.RateLimit, burst: c.BurstLimit, window: c.RateWindow,
		burstWindow: c.BurstWindow, now: time.Now, keys: map[string]*bucket{}}
}

func (l *limiter) disabled() bool { return l.limit < 0 }

// take counts a call for key when both windows have room; with consume false
// it only reports the key's state.
func (l *limiter) take(key string, consume bool) verdict {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		b = &bucket{start: now, burstStart: now}
		if consume {
			l.keys[key] = b
		}
	}
	if !now.Before(b.start.Add(l.window)) {
		b.start, b.n = now, 0
	}
	if !now.Before(b.burstStart.Add(l.burstWindow)) {
		b.burstStart, b.burstN = now, 0
	}
	left, burstLeft := l.limit-b.n, l.burst-b.burstN
	v := verdict{limit: l.limit}
	if consume && left > 0 && burstLeft > 0 {
		b.n++
		b.burstN++
		left--
		burstLeft--
		v.ok = true
	} else if !consume {
		v.ok = left > 0 && burstLeft > 0
	}
	v.remaining = min(left, burstLeft)
	hourReset, burstReset := b.start.Add(l.window), b.burstStart.Add(l.burstWindow)
	switch {
	case left <= 0 && burstLeft <= 0:
		v.reset = later(hourReset, burstReset)
	case left <= 0:
		v.reset = hourReset
	case burstLeft < left: // a tie reports the longer window, so one answer never promises too early
		v.reset = burstReset
	default:
		v.reset = hourReset
	}
	if !v.ok {
		v.retryAfter = max(1, int((v.reset.Sub(now)+time.Second-1)/time.Second))
	}
	return v
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// set writes the X-RateLimit-* headers, and Retry-After on a refusal.
func (v verdict) set(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(v.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, v.remaining)))
	// Round up so a client waiting until Reset is never early.
	h.Set("X-RateLimit-Reset", strconv.FormatInt((v.reset.UnixNano()+int64(time.Second)-1)/int64(time.Second), 10))
	if !v.ok && v.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(v.retryAfter))
	}
}
