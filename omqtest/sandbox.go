package omqtest

import (
	"testing"
	"time"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// Faults are the failures the sandbox injects into Partner API calls:
// Outage (every call answers 503), LatencyMS and JitterMS, ErrorRate (the
// share of calls that answer 500), ForceStatus (every call answers it).
type Faults = sandbox.Faults

// SandboxFaults replaces the faults in force: SandboxFaults(t,
// Faults{Outage: true}) takes the API down, SandboxFaults(t, Faults{})
// brings it back. An out-of-range value fails the test.
func (s *System) SandboxFaults(t testing.TB, f Faults) {
	t.Helper()
	if err := s.sandbox.SetFaults(f); err != nil {
		t.Fatalf("omqtest: sandbox faults: %v", err)
	}
}

// AdvanceClock moves the sandbox's clock ahead by d, and returns the new
// sandbox time: milestones fall due and become overdue as they would d
// later. omq's own timers (retries, pauses) are not moved; they are already
// scaled to milliseconds (see Start).
func (s *System) AdvanceClock(d time.Duration) time.Time { return s.sandbox.AdvanceClock(d) }

// APICalls returns the Partner API calls the sandbox has answered so far,
// oldest first (method, path, status, time; never a key or a body).
func (s *System) APICalls() []sandbox.Request { return s.sandbox.Requests() }
