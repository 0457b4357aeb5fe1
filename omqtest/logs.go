package omqtest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// maxLogBytes bounds the logs a System keeps; past it the oldest half goes.
const maxLogBytes = 4 << 20

// logBuffer keeps a System's logs so that a failed test can show them, and
// in verbose mode passes each line to t.Log while the System runs (t.Log
// after the test ended would panic, so nothing is passed after stop).
type logBuffer struct {
	level slog.Level

	mu      sync.Mutex
	buf     bytes.Buffer
	dropped bool
	t       testing.TB // nil unless verbose; cleared at stop
}

func newLogBuffer(level slog.Level) *logBuffer { return &logBuffer{level: level} }

func (l *logBuffer) logger(t testing.TB, verbose bool) *slog.Logger {
	if verbose {
		l.t = t
	}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: l.level}))
}

// Write takes one log line (slog's handlers write whole records).
func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t != nil {
		l.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	if l.buf.Len()+len(p) > maxLogBytes {
		keep := l.buf.Bytes()[l.buf.Len()/2:]
		if i := bytes.IndexByte(keep, '\n'); i >= 0 {
			keep = keep[i+1:]
		}
		l.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
		l.dropped = true
	}
	l.buf.Write(p)
	return len(p), nil
}

// stop ends the pass-through to t.Log.
func (l *logBuffer) stop() {
	l.mu.Lock()
	l.t = nil
	l.mu.Unlock()
}

// dump writes the kept logs to t.Log, once.
func (l *logBuffer) dump(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() == 0 {
		return
	}
	head := "omqtest: omq's logs:\n"
	if l.dropped {
		head = "omqtest: omq's logs (the oldest were dropped):\n"
	}
	t.Log(head + l.buf.String())
	l.buf.Reset()
}
