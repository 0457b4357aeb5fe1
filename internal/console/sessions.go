package console

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// session is one login. Sessions live in the process's memory: a restart
// logs everyone out, and behind a load balancer each replica of omq run
// keeps its own (pin the console to one, or use omq console).
type session struct {
	id      string
	user    User
	csrf    string
	expires time.Time
}

type sessions struct {
	mu  sync.Mutex
	now func() time.Time
	ttl time.Duration
	m   map[string]*session
}

// maxSessions bounds the memory logins can take; past it the oldest
// expiring ones are dropped first.
const maxSessions = 10_000

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	return &sessions{now: now, ttl: ttl, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(u User) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		ss.prune(now)
	}
	s := &session{id: randomToken(), user: u, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[s.id] = s
	return s
}

// get returns the live session of id; an expired one is gone.
func (ss *sessions) get(id string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	if !ok {
		return nil, false
	}
	if !ss.now().Before(s.expires) {
		delete(ss.m, id)
		return nil, false
	}
	return s, true
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// prune drops expired sessions, then, if still full, the one that expires
// first.
func (ss *sessions) prune(now time.Time) {
	var first *session
	for id, s := range ss.m {
		if !now.Before(s.expires) {
			delete(ss.m, id)
			continue
		}
		if first == nil || s.expires.Before(first.expires) {
			first = s
		}
	}
	if len(ss.m) >= maxSessions && first != nil {
		delete(ss.m, first.id)
	}
}
