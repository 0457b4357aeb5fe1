package status_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/status"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// healthy is a system at rest: one worker with nothing waiting, every
// breaker closed, budget left, an empty DLQ.
func healthy() *status.Status {
	return &status.Status{
		Streams: []status.Stream{
			{Name: "OPENMOOVE_EVENTS", Work: true, Consumers: []status.Consumer{{Name: "milestones"}}},
			{Name: "OPENMOOVE_OUTCOMES", Consumers: []status.Consumer{{Name: "crm", Pending: 50,
				OldestPendingAt: ptr(now.Add(-48 * time.Hour))}}}, // someone else's consumer: not omq's work
			{Name: "OPENMOOVE_DLQ"},
		},
		Budget:      &status.Budget{HourLeft: 1000, PerHour: 1000, MinuteLeft: 100, PerMinute: 100},
		Breakers:    []status.Breaker{{Worker: "milestones", State: "closed"}},
		DeadLetters: status.DeadLetters{MaxBytes: 1 << 30},
	}
}

func ptr[T any](v T) *T { return &v }

func assess(s *status.Status) *status.Status {
	status.Assess(s, now, 15*time.Minute)
	return s
}

func TestHealthyHasNoReasons(t *testing.T) {
	t.Parallel()
	s := assess(healthy())
	require.Equal(t, status.Healthy, s.State)
	require.Empty(t, s.Reasons)
	require.NotNil(t, s.Reasons, "an empty list in JSON, not null")
}

// Each rule: the reason appears when its condition holds, with the words an
// operator acts on, and not when it is just short of it.
func TestEachReasonAppearsWhenItsConditionHolds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		hold   func(*status.Status) // the condition holds
		short  func(*status.Status) // just short of it
		state  status.State
		part   string
		phrase string
	}{
		{
			name: "calls failing",
			hold: func(s *status.Status) {
				s.Failing = status.Failing{Messages: 2, WindowSecs: 300, LatestAt: now.Add(-time.Second),
					LatestOf: "OPENMOOVE_EVENTS", LatestError: "openmoove: PATCH /milestones/3/: 503 Service Unavailable"}
			},
			short:  func(s *status.Status) { s.Failing = status.Failing{WindowSecs: 300} },
			state:  status.Degraded,
			part:   "api",
			phrase: "calls failing: 2 messages failed in the last 5m0s and not succeeded since; latest at 11:59:59Z on OPENMOOVE_EVENTS: openmoove: PATCH /milestones/3/: 503",
		},
		{
			name: "breaker open",
			hold: func(s *status.Status) {
				s.Breakers[0] = status.Breaker{Worker: "milestones", State: "open", Open: true, Until: now.Add(time.Minute),
					NextProbe: now.Add(59 * time.Second), Reason: "openmoove: GET /products/: 503 Service Unavailable"}
			},
			short: func(s *status.Status) { // its pause ran out: the next message tests the API
				s.Breakers[0] = status.Breaker{Worker: "milestones", State: "open", Open: true, Until: now.Add(-time.Second)}
			},
			state:  status.Paused,
			part:   "milestones",
			phrase: "breaker open: milestones paused for every replica until 12:01:00Z, next probe 12:00:59Z (openmoove: GET /products/: 503 Service Unavailable); once the API answers, omq breaker resume resumes it now",
		},
		{
			name:   "paused by hand",
			hold:   func(s *status.Status) { s.Streams[0].Consumers[0].PausedUntil = ptr(now.Add(time.Hour)) },
			short:  func(s *status.Status) { s.Streams[0].Consumers[0].PausedUntil = ptr(now.Add(-time.Second)) },
			state:  status.Paused,
			part:   "milestones",
			phrase: "milestones is paused until 13:00:00Z with its breaker closed",
		},
		{
			name: "stuck",
			hold: func(s *status.Status) {
				c := &s.Streams[0].Consumers[0]
				c.Pending, c.OldestPendingAt = 3, ptr(now.Add(-16*time.Minute))
			},
			short: func(s *status.Status) {
				c := &s.Streams[0].Consumers[0]
				c.Pending, c.OldestPendingAt = 3, ptr(now.Add(-14*time.Minute))
			},
			state:  status.Stuck,
			part:   "milestones",
			phrase: "milestones: its oldest unfinished message is 16m0s old, over --stuck-after 15m0s (3 waiting)",
		},
		{
			name: "budget spent with work waiting",
			hold: func(s *status.Status) {
				s.Budget.HourLeft, s.Budget.HourReset = 0, now.Add(20*time.Minute)
				s.Streams[0].Consumers[0].Pending = 4
			},
			short:  func(s *status.Status) { s.Budget.HourLeft = 0 }, // spent, but nothing waits
			state:  status.Degraded,
			part:   "budget",
			phrase: "API budget all 1000 calls of this hour spent, until 12:20:00Z, with 4 messages waiting",
		},
		{
			name: "budget stopped by a 429",
			hold: func(s *status.Status) {
				s.Budget.StoppedUntil = ptr(now.Add(30 * time.Second))
				s.Streams[0].Consumers[0].AckPending = 1
			},
			short: func(s *status.Status) {
				s.Budget.StoppedUntil = ptr(now.Add(-time.Second))
				s.Streams[0].Consumers[0].AckPending = 1
			},
			state:  status.Degraded,
			part:   "budget",
			phrase: "API budget stopped by the API's 429 until 12:00:30Z, with 1 message waiting",
		},
		{
			name:   "DLQ filling",
			hold:   func(s *status.Status) { s.DeadLetters.Fill = 0.8 },
			short:  func(s *status.Status) { s.DeadLetters.Fill = 0.79 },
			state:  status.Degraded,
			part:   "dead_letters",
			phrase: "the DLQ is 80% full",
		},
		{
			name:   "stream missing",
			hold:   func(s *status.Status) { s.Streams[2].Missing = true },
			short:  func(*status.Status) {},
			state:  status.Degraded,
			part:   "OPENMOOVE_DLQ",
			phrase: "stream OPENMOOVE_DLQ is missing; run omq streams apply",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			c.hold(s)
			assess(s)
			require.Equal(t, c.state, s.State, "%+v", s.Reasons)
			require.Len(t, s.Reasons, 1, "%+v", s.Reasons)
			r := s.Reasons[0]
			require.Equal(t, c.state, r.State)
			require.Equal(t, c.part, r.Part)
			require.Contains(t, r.Text, c.phrase)

			s = healthy()
			c.short(s)
			assess(s)
			require.Equal(t, status.Healthy, s.State, "%+v", s.Reasons)
		})
	}
}

// The worst reason sets the state and comes first; the others stay listed.
func TestWorstReasonWins(t *testing.T) {
	t.Parallel()
	s := healthy()
	s.DeadLetters.Fill = 0.9
	s.Breakers[0] = status.Breaker{Worker: "milestones", State: "open", Open: true, Until: now.Add(time.Minute)}
	s.Streams[0].Consumers[0].Pending, s.Streams[0].Consumers[0].OldestPendingAt = 1, ptr(now.Add(-time.Hour))
	assess(s)
	require.Equal(t, status.Stuck, s.State)
	var states []string
	for _, r := range s.Reasons {
		states = append(states, string(r.State))
	}
	require.Equal(t, "stuck paused degraded", strings.Join(states, " "))
}

// /readyz takes its reasons from the model: a missing stream stops
// traffic, a degraded API does not.
func TestNotReadyOnlyForMissingStreams(t *testing.T) {
	t.Parallel()
	s := healthy()
	s.Failing = status.Failing{Messages: 9}
	s.Breakers[0] = status.Breaker{Worker: "milestones", Open: true, Until: now.Add(time.Minute)}
	require.Empty(t, assess(s).NotReady())
	s.Streams[0].Missing = true
	require.Equal(t, []string{"streams missing: OPENMOOVE_EVENTS (run omq streams apply)"}, assess(s).NotReady())
}
