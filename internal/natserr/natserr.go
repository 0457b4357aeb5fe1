// Package natserr tells what a NATS or JetStream error means for an
// operator: a store that refuses writes because it is full, a cluster
// without a JetStream leader, a server that did not answer in time. omq's
// commands, readiness check and budget use it so that each names the real
// cause, not the symptom ("context deadline exceeded", "too much
// contention").
package natserr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream API error codes of a store that cannot take a write (the
// nats-server's errors.json).
const (
	codeAccountResources     jetstream.ErrorCode = 10002 // resource limits exceeded for account
	codeInsufficientResource jetstream.ErrorCode = 10023 // insufficient resources
	codeStorageResources     jetstream.ErrorCode = 10047 // insufficient storage resources available
	codeStoreFailed          jetstream.ErrorCode = 10077 // the store's own error, e.g. maximum bytes exceeded
	codeTemporarilyDown      jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
)

// fullTexts are the words of the same refusals when they reach omq without
// a code (a publish ack, a wrapped error, a disk that is really full).
var fullTexts = []string{"insufficient resources", "insufficient storage", "resource limits exceeded",
	"maximum bytes exceeded", "no space left on device", "storage resources"}

// StoreFull reports whether err is JetStream refusing a write because a
// store is full: the server's max_store, the account's limit, a stream's
// max bytes, or the disk itself.
func StoreFull(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case codeAccountResources, codeInsufficientResource, codeStorageResources:
			return true
		}
	}
	msg := strings.ToLower(err.Error())
	for _, t := range fullTexts {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

// NoLeader reports whether err means JetStream has no leader to answer:
// a cluster still electing one (just started, or a node lost), or a
// JetStream that is not (yet) enabled.
func NoLeader(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == codeTemporarilyDown || apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabled) {
		return true
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrJetStreamNotEnabled)
}

// TimedOut reports whether err is a NATS request that got no answer in
// time.
func TimedOut(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// FullHint is what to do about a full store.
const FullHint = "free disk space on the NATS server, raise its JetStream max_store (or the account's limit), or shrink what omq keeps (--dlq-max-bytes, omq dlq purge); writes resume by themselves once there is room"

// Explain returns err with the cause an operator can act on, or err as it
// is when it is none of those.
func Explain(err error) error {
	switch {
	case err == nil:
		return nil
	case StoreFull(err):
		return &Error{err: err, text: "NATS refused the write: its JetStream store is full (" + brief(err) + "); " + FullHint}
	case NoLeader(err):
		return &Error{err: err, text: "no JetStream leader yet: the cluster is still electing (or JetStream is off); retry in a few seconds (" + brief(err) + ")"}
	case TimedOut(err):
		return &Error{err: err, text: "NATS did not answer in time: a JetStream leader election or a full store holds requests; check the NATS servers (nats server report jetstream) and retry (" + brief(err) + ")"}
	}
	return err
}

// brief is err's first line, and how many more there are: streams.Apply
// joins one error per stream and bucket, twelve times the same cause.
func brief(err error) string {
	first, rest, more := strings.Cut(err.Error(), "\n")
	if !more {
		return first
	}
	return fmt.Sprintf("%s; and %d more", first, strings.Count(rest, "\n")+1)
}

// Error is an explained NATS error; it unwraps to the original.
type Error struct {
	err  error
	text string
}

func (e *Error) Error() string { return e.text }
func (e *Error) Unwrap() error { return e.err }

// Watch remembers whether this process's writes to NATS are being refused
// because a store is full, for /readyz and /status: a full store is not
// visible in what NATS lets a client read, only in refused writes. The
// zero value is ready; a nil *Watch ignores everything.
type Watch struct {
	mu    sync.Mutex
	err   error
	since time.Time
}

// Observe records the outcome of a write: a store-full refusal starts (or
// continues) the refused state, a success ends it, any other error leaves
// it as it is.
func (w *Watch) Observe(err error) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err == nil:
		w.err, w.since = nil, time.Time{}
	case StoreFull(err):
		if w.err == nil {
			w.since = time.Now()
		}
		w.err = err
	}
}

// Refused returns the last store-full refusal and when the refusals
// began, or nil once a write succeeded since.
func (w *Watch) Refused() (error, time.Time) {
	if w == nil {
		return nil, time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err, w.since
}
