// Package status is omq's one status model: what is healthy, degraded,
// paused or stuck, and why. omq status prints it, GET /status serves it as
// JSON, /readyz takes its reasons from it, and the console will render it.
//
// Read assembles it from what every replica shares — the streams and their
// consumers, the BREAKER, BUDGET and FAILURES buckets, the dead-letter
// stream — so any process that reaches NATS sees the same answer. Assess
// judges it; it is pure, so each rule is tested on its own.
//
// The model holds counts, times, names and error texts of API calls, never a
// message body or a secret.
package status

import (
	"slices"
	"strings"
	"time"
)

// State is the overall state, from best to worst.
type State string

// The states, in order of severity: the worst reason wins.
const (
	// Healthy: work moves, the API answers, nothing waits for a person.
	Healthy State = "healthy"
	// Degraded: work moves, or can, but something is wrong: calls are
	// failing, the budget is spent with work waiting, the DLQ is filling,
	// a stream is missing.
	Degraded State = "degraded"
	// Paused: a worker's consumer is paused for every replica (its
	// breaker is open, or someone paused it), so its work waits.
	Paused State = "paused"
	// Stuck: a worker's oldest pending message is older than StuckAfter.
	Stuck State = "stuck"
)

func (s State) rank() int {
	switch s {
	case Degraded:
		return 1
	case Paused:
		return 2
	case Stuck:
		return 3
	}
	return 0
}

// DefaultStuckAfter is --stuck-after's default: longer than the longest
// breaker pause (5m) and the longest retry delay (5m) together, so an
// outage the breaker is riding out reads as paused, not stuck, for its
// first quarter of an hour.
const DefaultStuckAfter = 15 * time.Minute

// FailingWindow is how recent a recorded failure must be to make the
// system degraded: a message that failed within it and has not succeeded
// since.
const FailingWindow = 5 * time.Minute

// DLQWarnFill is the DLQ fill (of its byte cap) from which the system is
// degraded: the mover warns from the same fill.
const DLQWarnFill = 0.8

// Status is the whole model: omq status --json and GET /status.
type Status struct {
	State State `json:"state"`
	// Reasons say why the state is not healthy, worst first.
	Reasons []Reason  `json:"reasons"`
	At      time.Time `json:"at"`
	// StuckAfterSeconds is the threshold of the stuck state (--stuck-after).
	StuckAfterSeconds float64       `json:"stuck_after_seconds"`
	Streams           []Stream      `json:"streams"`
	Budget            *Budget       `json:"budget,omitempty"`
	Breakers          []Breaker     `json:"breakers"`
	Failing           Failing       `json:"failing"`
	DeadLetters       DeadLetters   `json:"dead_letters"`
	stuckAfter        time.Duration `json:"-"`
}

// Reason is one thing that is not healthy.
type Reason struct {
	State State `json:"state"`
	// Part names what it is about: a worker, a stream, "api", "budget",
	// "dead_letters".
	Part string `json:"part"`
	Text string `json:"text"`
}

// Stream is one stream and its consumers.
type Stream struct {
	Name      string     `json:"name"`
	Messages  uint64     `json:"messages"`
	Bytes     uint64     `json:"bytes"`
	LastSeq   uint64     `json:"last_seq"`
	Missing   bool       `json:"missing,omitempty"`
	Work      bool       `json:"work,omitempty"` // consumed by omq's workers
	Consumers []Consumer `json:"consumers"`
}

// Consumer is one durable consumer of a stream.
type Consumer struct {
	Name        string     `json:"name"`
	Pending     uint64     `json:"pending"`
	AckPending  int        `json:"ack_pending"`
	Redelivered int        `json:"redelivered"`
	Waiting     int        `json:"waiting"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// OldestPendingAt is when the oldest message it has not yet finished
	// (delivered or not) was published; absent when it has none.
	OldestPendingAt *time.Time `json:"oldest_pending_at,omitempty"`
	// OldestPendingAgeSeconds is that message's age when read.
	OldestPendingAgeSeconds float64 `json:"oldest_pending_age_seconds,omitempty"`
}

// waiting is how many messages it has not yet finished.
func (c Consumer) waiting() uint64 { return c.Pending + uint64(max(c.AckPending, 0)) }

// Budget is the shared API budget.
type Budget struct {
	HourUsed     int        `json:"hour_used"`
	HourLeft     int        `json:"hour_left"`
	PerHour      int        `json:"per_hour"`
	HourReset    time.Time  `json:"hour_reset"`
	MinuteUsed   int        `json:"minute_used"`
	MinuteLeft   int        `json:"minute_left"`
	PerMinute    int        `json:"per_minute"`
	MinuteReset  time.Time  `json:"minute_reset"`
	StoppedUntil *time.Time `json:"stopped_until,omitempty"`
	// Lanes are the budget's lanes, live first; absent when lanes are off
	// (--budget-lanes off).
	Lanes []Lane `json:"lanes,omitempty"`
}

// Lane is one lane of the budget: what it spent in the current windows and
// what waits for it, over every replica.
type Lane struct {
	Lane        string `json:"lane"`
	HourSpent   int    `json:"hour_spent"`
	MinuteSpent int    `json:"minute_spent"`
	// Waiting is how many messages wait for a token of the lane;
	// OldestWaitSeconds how long the longest has waited.
	Waiting           int     `json:"waiting"`
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
}

// Breaker is one worker's breaker, as every replica sees it.
type Breaker struct {
	Worker string `json:"worker"`
	// State is "open" or "closed".
	State  string    `json:"state"`
	Open   bool      `json:"open"`
	Reason string    `json:"reason,omitempty"`
	Until  time.Time `json:"until,omitzero"` // the pause's end
	// NextProbe is when the API is probed, shortly before Until.
	NextProbe    time.Time `json:"next_probe,omitzero"`
	PauseSeconds float64   `json:"pause_seconds,omitempty"`
}

// Failing sums up the failures recorded in the FAILURES bucket within
// FailingWindow: messages whose last attempt failed and that have not
// succeeded since.
type Failing struct {
	Messages    int       `json:"messages"`
	WindowSecs  float64   `json:"window_seconds"`
	LatestAt    time.Time `json:"latest_at,omitzero"`
	LatestError string    `json:"latest_error,omitempty"`
	LatestOf    string    `json:"latest_stream,omitempty"`
}

// DeadLetters sums up the dead-letter stream.
type DeadLetters struct {
	Count    uint64  `json:"count"`
	Bytes    uint64  `json:"bytes"`
	MaxBytes int64   `json:"max_bytes"`
	Fill     float64 `json:"fill"` // 0..1 of MaxBytes
}

// NotReady are the reasons omq cannot take traffic, from the model: a
// stream it writes to is missing. Degraded, paused and stuck states do not
// stop traffic: what arrives is queued.
func (s *Status) NotReady() []string {
	var missing []string
	for _, st := range s.Streams {
		if st.Missing {
			missing = append(missing, st.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []string{"streams missing: " + strings.Join(missing, ", ") + " (run omq streams apply)"}
}

// BreakerRow is one worker's breaker with the stream its consumer reads
// (what a resume needs) and its pause as the consumer has it: a row of
// omq breaker status and of the console's overview.
type BreakerRow struct {
	Breaker
	Stream      string     `json:"stream"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
}

// BreakerRows are the consumers of the work streams, one per worker, each
// with its breaker; a worker whose breaker never opened reads closed.
func (st *Status) BreakerRows() []BreakerRow {
	var rows []BreakerRow
	for _, s := range st.Streams {
		if !s.Work {
			continue
		}
		for _, c := range s.Consumers {
			r := BreakerRow{Breaker: Breaker{Worker: c.Name, State: "closed"}, Stream: s.Name}
			if i := slices.IndexFunc(st.Breakers, func(b Breaker) bool { return b.Worker == c.Name }); i >= 0 {
				r.Breaker = st.Breakers[i]
			}
			if c.PausedUntil != nil && c.PausedUntil.After(st.At) {
				r.PausedUntil = c.PausedUntil
			}
			rows = append(rows, r)
		}
	}
	return rows
}
