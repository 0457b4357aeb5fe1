package console

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login attempts allowed per client address and per user name: a burst of
// loginBurst, then one every loginEvery. A person who mistypes a few times
// is not slowed; a guesser gets 5 tries a minute per name and per address.
const (
	loginBurst = 5
	loginEvery = 12 * time.Second
)

// loginLimits rate-limits login attempts by key ("ip:…", "user:…").
type loginLimits struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*rate.Limiter
}

// maxLimiters bounds the memory a flood of addresses or names can take;
// past it, limiters that are full again (nothing to remember) are dropped.
const maxLimiters = 100_000

func newLoginLimits(now func() time.Time) *loginLimits {
	return &loginLimits{now: now, m: map[string]*rate.Limiter{}}
}

// allow takes one attempt from every key; it answers false, and how long to
// wait, when any of them has none left.
func (l *loginLimits) allow(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxLimiters {
		for k, lim := range l.m {
			if lim.TokensAt(now) >= loginBurst {
				delete(l.m, k)
			}
		}
	}
	var wait time.Duration
	ok := true
	for _, k := range keys {
		lim, found := l.m[k]
		if !found {
			lim = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
			l.m[k] = lim
		}
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			ok = false
			wait = max(wait, d)
		}
	}
	return ok, wait
}
