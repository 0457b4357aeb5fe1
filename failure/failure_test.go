package failure_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openmoove/omq/failure"
)

type apiErr struct{ kind failure.Kind }

func (e apiErr) Error() string             { return "api" }
func (e apiErr) FailureKind() failure.Kind { return e.kind }
func (e apiErr) RetryAfter() time.Duration { return 7 * time.Second }

func TestKindOf(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want failure.Kind
	}{
		{"plain error is transient", base, failure.Transient},
		{"permanent", failure.PermanentError(base), failure.Permanent},
		{"systemic wrapped by fmt", fmt.Errorf("ctx: %w", failure.SystemicError(base)), failure.Systemic},
		{"throttled", failure.ThrottledError(base, time.Second), failure.Throttled},
		{"classified type deep in chain", fmt.Errorf("a: %w", fmt.Errorf("b: %w", apiErr{failure.Permanent})), failure.Permanent},
		{"outermost wins", failure.TransientError(apiErr{failure.Permanent}), failure.Transient},
		{"joined", errors.Join(base, apiErr{failure.Systemic}), failure.Systemic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failure.KindOf(tt.err); got != tt.want {
				t.Fatalf("KindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilStaysNil(t *testing.T) {
	t.Parallel()
	for _, err := range []error{failure.PermanentError(nil), failure.TransientError(nil), failure.SystemicError(nil), failure.ThrottledError(nil, time.Second)} {
		if err != nil {
			t.Fatalf("wrapping nil gave %v", err)
		}
	}
}

func TestWaitOf(t *testing.T) {
	t.Parallel()
	if d, ok := failure.WaitOf(fmt.Errorf("x: %w", failure.ThrottledError(errors.New("429"), 3*time.Second))); !ok || d != 3*time.Second {
		t.Fatalf("WaitOf = %v %v", d, ok)
	}
	if d, ok := failure.WaitOf(errors.Join(errors.New("a"), apiErr{})); !ok || d != 7*time.Second {
		t.Fatalf("WaitOf joined = %v %v", d, ok)
	}
	if _, ok := failure.WaitOf(errors.New("plain")); ok {
		t.Fatal("plain error has no wait")
	}
}

func TestKindStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range []failure.Kind{failure.Transient, failure.Permanent, failure.Throttled, failure.Systemic} {
		got, ok := failure.ParseKind(k.String())
		if !ok || got != k {
			t.Fatalf("ParseKind(%q) = %v %v", k.String(), got, ok)
		}
	}
	if _, ok := failure.ParseKind("loud"); ok {
		t.Fatal("ParseKind accepted an unknown kind")
	}
	if got := failure.Kind(99).String(); got != "transient" {
		t.Fatalf("an unknown Kind is named %q, want the zero value's name, transient", got)
	}
}

func TestSnooze(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("milestones: %w", failure.SnoozeError(errors.New("404"), 30*time.Second))
	if d, ok := failure.SnoozeOf(err); !ok || d != 30*time.Second {
		t.Fatalf("SnoozeOf = %v %v, want 30s true", d, ok)
	}
	if failure.KindOf(err) != failure.Transient {
		t.Fatalf("a snooze reads as Transient to code that reads only kinds")
	}
	for _, notSnooze := range []error{errors.New("x"), failure.TransientError(errors.New("x")), failure.ThrottledError(errors.New("x"), time.Second)} {
		if _, ok := failure.SnoozeOf(notSnooze); ok {
			t.Fatalf("%v reported as a snooze", notSnooze)
		}
	}
	if failure.SnoozeError(nil, time.Second) != nil {
		t.Fatal("nil stays nil")
	}
}
