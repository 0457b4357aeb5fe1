package failure

import (
	"errors"
	"time"
)

// Kind names how a failure should be treated. The zero value is Transient.
type Kind int

const (
	// Transient failures may succeed later; they are retried with backoff and
	// count against the message's failure budget.
	Transient Kind = iota
	// Permanent failures never succeed; the message is dead-lettered at once.
	Permanent
	// Throttled failures are the API's rate limit or omq's shared budget: the
	// message is handed back after the wait without counting an attempt.
	Throttled
	// Systemic failures mean the integration is broken for every message
	// (bad API key, API down): consumption pauses for every replica.
	Systemic
)

// kindNames are the names of the kinds, indexed by Kind: written once, for
// String and ParseKind.
var kindNames = [...]string{Transient: "transient", Permanent: "permanent", Throttled: "throttled", Systemic: "systemic"}

// String returns the lower-case name used in headers, metrics and logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return Transient.String() // the zero value's name, as for any unknown kind
	}
	return kindNames[k]
}

// ParseKind is the inverse of Kind.String; ok is false for an unknown name.
func ParseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), true
		}
	}
	return Transient, false
}

// Classified is implemented by errors that know their own kind, such as
// *openmoove.Error. KindOf finds it anywhere in an error chain.
type Classified interface {
	error
	FailureKind() Kind
}

// Waiter is implemented by errors that say how long to wait before the next
// attempt (a 429's Retry-After, for example).
type Waiter interface {
	error
	RetryAfter() time.Duration
}

// Error attaches a Kind, and optionally a wait, to an error.
type Error struct {
	Kind Kind
	// Wait is how long to wait before trying again; zero means "use the
	// worker's backoff".
	Wait time.Duration
	// Snooze marks a message that is waiting on something else, not
	// failing: see SnoozeError.
	Snooze bool
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String() + " failure"
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// FailureKind implements Classified.
func (e *Error) FailureKind() Kind { return e.Kind }

// RetryAfter implements Waiter.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// PermanentError marks err as never going to succeed. A nil err stays nil.
func PermanentError(err error) error { return wrap(Permanent, 0, err) }

// TransientError marks err as worth retrying later. A nil err stays nil.
func TransientError(err error) error { return wrap(Transient, 0, err) }

// ErrReadsOnly, in the chain of a Throttled error, says that only reads
// are refused (the shared budget keeps its last tokens for writes): a
// worker hands that message back but keeps taking others, whose writes may
// still go through.
var ErrReadsOnly = errors.New("only reads are throttled; writes may go on")

// ThrottledError marks err as a rate limit that lifts after wait. A nil err
// stays nil.
func ThrottledError(err error, wait time.Duration) error { return wrap(Throttled, wait, err) }

// SystemicError marks err as a fault of the whole integration. A nil err stays
// nil.
func SystemicError(err error) error { return wrap(Systemic, 0, err) }

func wrap(k Kind, wait time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Wait: wait, Err: err}
}

// SnoozeError says "not yet": the message cannot be done now because it is
// waiting on something else (an event for a transaction whose creation may
// still be queued), and should be tried again after wait. A snooze is not a
// failure: it spends none of the message's failure budget and says nothing
// about the API's health, so it never opens the breaker. Its kind is
// Transient for code that reads only kinds. The code that snoozes must bound
// how long it keeps doing so (a grace period), then fail for good. A nil
// err stays nil.
func SnoozeError(err error, wait time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: Transient, Wait: wait, Snooze: true, Err: err}
}

// SnoozeOf reports whether err's chain holds a snooze, and its wait.
func SnoozeOf(err error) (time.Duration, bool) {
	var e *Error
	for err != nil {
		if errors.As(err, &e) {
			if e.Snooze {
				return e.Wait, true
			}
			err = e.Err
			continue
		}
		return 0, false
	}
	return 0, false
}

// KindOf returns the kind of the outermost classified error in err's chain,
// or Transient when nothing in the chain is classified.
func KindOf(err error) Kind {
	var c Classified
	if errors.As(err, &c) {
		return c.FailureKind()
	}
	return Transient
}

// WaitOf returns the wait named by the outermost Waiter in err's chain that
// names one (greater than zero), and whether there was one.
func WaitOf(err error) (time.Duration, bool) {
	for err != nil {
		if w, ok := err.(Waiter); ok && w.RetryAfter() > 0 {
			return w.RetryAfter(), true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if d, ok := WaitOf(e); ok {
					return d, true
				}
			}
			return 0, false
		default:
			return 0, false
		}
	}
	return 0, false
}
