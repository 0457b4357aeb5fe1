package status

import (
	"fmt"
	"slices"
	"time"
)

// Assess sets s.State and s.Reasons from the rest of s, judged at now with
// stuckAfter as the stuck threshold. It reads nothing else, so each rule is
// testable on its own; Read calls it.
func Assess(s *Status, now time.Time, stuckAfter time.Duration) {
	s.At, s.stuckAfter, s.StuckAfterSeconds = now, stuckAfter, stuckAfter.Seconds()
	var rs []Reason
	rs = append(rs, missingStreams(s)...)
	rs = append(rs, breakers(s, now)...)
	rs = append(rs, pausedByHand(s, now)...)
	rs = append(rs, stuck(s, now, stuckAfter)...)
	rs = append(rs, failing(s)...)
	rs = append(rs, budgetSpent(s, now)...)
	rs = append(rs, dlqFilling(s)...)
	slices.SortStableFunc(rs, func(a, b Reason) int { return b.State.rank() - a.State.rank() })
	s.State, s.Reasons = Healthy, rs
	if s.Reasons == nil {
		s.Reasons = []Reason{}
	}
	if len(rs) > 0 {
		s.State = rs[0].State
	}
}

func missingStreams(s *Status) []Reason {
	var rs []Reason
	for _, st := range s.Streams {
		if st.Missing {
			rs = append(rs, Reason{Degraded, st.Name, "stream " + st.Name + " is missing; run omq streams apply"})
		}
	}
	return rs
}

func breakers(s *Status, now time.Time) []Reason {
	var rs []Reason
	for _, b := range s.Breakers {
		if !b.Open || !b.Until.After(now) {
			continue
		}
		rs = append(rs, Reason{Paused, b.Worker, fmt.Sprintf(
			"breaker open: %s paused for every replica until %s, next probe %s (%s); once the API answers, omq breaker resume resumes it now",
			b.Worker, clock(b.Until), clock(b.NextProbe), b.Reason)})
	}
	return rs
}

// pausedByHand: a consumer paused while its breaker is closed (a pause set
// with the nats CLI, or the hold of a probe in progress).
func pausedByHand(s *Status, now time.Time) []Reason {
	var rs []Reason
	for _, st := range s.Streams {
		for _, c := range st.Consumers {
			if c.PausedUntil == nil || !c.PausedUntil.After(now) || breakerOpen(s, c.Name, now) {
				continue
			}
			rs = append(rs, Reason{Paused, c.Name, fmt.Sprintf(
				"%s is paused until %s with its breaker closed (paused by hand, or a probe in progress); omq breaker resume resumes it",
				c.Name, clock(*c.PausedUntil))})
		}
	}
	return rs
}

func breakerOpen(s *Status, worker string, now time.Time) bool {
	for _, b := range s.Breakers {
		if b.Worker == worker && b.Open && b.Until.After(now) {
			return true
		}
	}
	return false
}

func stuck(s *Status, now time.Time, after time.Duration) []Reason {
	var rs []Reason
	for _, st := range s.Streams {
		for _, c := range st.Consumers {
			if !st.Work || c.OldestPendingAt == nil {
				continue
			}
			if age := now.Sub(*c.OldestPendingAt); age > after {
				rs = append(rs, Reason{Stuck, c.Name, fmt.Sprintf(
					"%s: its oldest unfinished message is %s old, over --stuck-after %s (%d waiting)",
					c.Name, age.Round(time.Second), after, c.waiting())})
			}
		}
	}
	return rs
}

func failing(s *Status) []Reason {
	f := s.Failing
	if f.Messages == 0 {
		return nil
	}
	return []Reason{{Degraded, "api", fmt.Sprintf(
		"calls failing: %s failed in the last %s and not succeeded since; latest at %s on %s: %s",
		plural(f.Messages, "message"), time.Duration(f.WindowSecs*float64(time.Second)), clock(f.LatestAt), f.LatestOf, f.LatestError)}}
}

func budgetSpent(s *Status, now time.Time) []Reason {
	b := s.Budget
	if b == nil {
		return nil
	}
	waiting := s.workWaiting()
	if waiting == 0 {
		return nil
	}
	var why string
	switch {
	case b.StoppedUntil != nil && b.StoppedUntil.After(now):
		why = "stopped by the API's 429 until " + clock(*b.StoppedUntil)
	case b.HourLeft <= 0:
		why = fmt.Sprintf("all %d calls of this hour spent, until %s", b.PerHour, clock(b.HourReset))
	case b.MinuteLeft <= 0:
		why = fmt.Sprintf("all %d calls of this minute spent, until %s", b.PerMinute, clock(b.MinuteReset))
	default:
		return nil
	}
	return []Reason{{Degraded, "budget", fmt.Sprintf("API budget %s, with %s waiting", why, plural(int(waiting), "message"))}}
}

func dlqFilling(s *Status) []Reason {
	d := s.DeadLetters
	if d.MaxBytes <= 0 || d.Fill < DLQWarnFill {
		return nil
	}
	return []Reason{{Degraded, "dead_letters", fmt.Sprintf(
		"the DLQ is %.0f%% full; at 100%% new dead letters are refused: omq dlq export and purge, or raise --dlq-max-bytes", 100*d.Fill)}}
}

// workWaiting is how many messages omq's workers have not yet finished.
func (s *Status) workWaiting() uint64 {
	var n uint64
	for _, st := range s.Streams {
		if !st.Work {
			continue
		}
		for _, c := range st.Consumers {
			n += c.waiting()
		}
	}
	return n
}

// clock is a time as an operator reads it beside the logs: UTC, seconds.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05Z")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
