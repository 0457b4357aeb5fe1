package sandbox

import (
	"net/http"
	"time"
)

// dated sets every answer's Date header from the sandbox clock, as a real
// API's Date follows its own clock: a client that reads the API's time from
// Date (openmoove.Client.Now) then sees AdvanceClock.
func dated(now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&dateWriter{ResponseWriter: w, now: now}, r)
	})
}

// dateWriter stamps Date when the header is written, not when the call
// arrived, so an injected latency does not make the clock look behind.
type dateWriter struct {
	http.ResponseWriter
	now     func() time.Time
	stamped bool
}

func (w *dateWriter) stamp() {
	if !w.stamped {
		w.stamped = true
		w.Header().Set("Date", w.now().UTC().Format(http.TimeFormat))
	}
}

func (w *dateWriter) WriteHeader(code int) {
	w.stamp()
	w.ResponseWriter.WriteHeader(code)
}

func (w *dateWriter) Write(b []byte) (int, error) {
	w.stamp()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *dateWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
