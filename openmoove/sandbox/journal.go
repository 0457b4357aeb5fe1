package sandbox

import (
	"net/http"
	"sync"
	"time"
)

// Request is one partner call as the journal records it (GET
// /_sandbox/requests). It never holds the API key or a body.
type Request struct {
	Method string    `json:"method"`
	Path   string    `json:"path"` // without the query
	Status int       `json:"status"`
	At     time.Time `json:"at"` // when the answer was written (real clock, UTC)
}

// journal records each partner call once, when its answer is complete.
type journal struct {
	mu   sync.Mutex
	reqs []Request
}

func (j *journal) add(r Request) {
	j.mu.Lock()
	j.reqs = append(j.reqs, r)
	j.mu.Unlock()
}

func (j *journal) list() []Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Request, len(j.reqs))
	copy(out, j.reqs)
	return out
}

func (j *journal) reset() {
	j.mu.Lock()
	j.reqs = nil
	j.mu.Unlock()
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
