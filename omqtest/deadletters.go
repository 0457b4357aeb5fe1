package omqtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/deadletter"
)

// DeadLetter is one dead letter: the original message, its subject, and
// why omq gave up on it (Error, Kind, the Errors history).
type DeadLetter = deadletter.Letter

// DeadLetterFilter selects dead letters: by original subject (wildcards
// allowed), kind, error text, time or id. The zero filter selects all.
type DeadLetterFilter = deadletter.Filter

// RequireDeadLetter waits for a dead letter that f selects and returns the
// oldest. On timeout it fails the test with the filter and every dead letter
// the DLQ holds (with its reason); an unusable filter fails at once.
func (s *System) RequireDeadLetter(t testing.TB, f DeadLetterFilter) DeadLetter {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatalf("omqtest: RequireDeadLetter: %v", err)
	}
	f.Limit = 1
	var got DeadLetter
	ok, wait := s.poll(t, func(ctx context.Context) bool {
		ls, err := s.DeadLetters.List(ctx, f)
		if err != nil || len(ls) == 0 {
			return false
		}
		got = ls[0]
		return true
	})
	if !ok {
		t.Fatalf("omqtest: waited %s for a dead letter matching %s; %s", wait, describeFilter(f), s.describeDeadLetters(nil))
	}
	return got
}

// RequireNoDeadLetters fails the test, listing them, if the DLQ holds any
// dead letter. It does not wait: call it once the work is known to be done.
func (s *System) RequireNoDeadLetters(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ls, err := s.DeadLetters.List(ctx, deadletter.Filter{})
	if err != nil {
		t.Fatalf("omqtest: read the DLQ: %v", err)
	}
	if len(ls) > 0 {
		t.Fatalf("omqtest: want no dead letters; %s", s.describeDeadLetters(nil))
	}
}

// describeDeadLetters lists the dead letters (those whose line and body
// keep accepts, when set) for failure messages.
func (s *System) describeDeadLetters(keep func(text string) bool) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ls, err := s.DeadLetters.List(ctx, deadletter.Filter{})
	if err != nil {
		return fmt.Sprintf("the DLQ could not be read: %v", err)
	}
	var lines []string
	for _, l := range ls {
		line := letterLine(l)
		if keep == nil || keep(line+"\n"+string(l.Data)) {
			lines = append(lines, "\t"+line)
		}
	}
	if len(lines) == 0 {
		if keep != nil {
			return fmt.Sprintf("no related dead letters (the DLQ holds %d)", len(ls))
		}
		return "the DLQ is empty"
	}
	what := "dead letter"
	if keep != nil {
		what = "related dead letter"
	}
	if len(lines) > 1 {
		what += "s"
	}
	return fmt.Sprintf("%d %s:\n%s", len(lines), what, strings.Join(limit(lines, 20), "\n"))
}

func letterLine(l deadletter.Letter) string {
	body := string(l.Data)
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return fmt.Sprintf("dead letter %d from %s (%s, after %d deliveries, by %s): %s; body %s",
		l.ID, l.OriginalSubject, l.Kind, l.Deliveries, l.Worker, l.Error, body)
}

func describeFilter(f deadletter.Filter) string {
	var parts []string
	if f.Subject != "" {
		parts = append(parts, "subject "+f.Subject)
	}
	if len(f.Kinds) > 0 {
		parts = append(parts, "kind "+strings.Join(f.Kinds, " or "))
	}
	if f.Error != "" {
		parts = append(parts, fmt.Sprintf("error containing %q", f.Error))
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since "+f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until "+f.Until.Format(time.RFC3339))
	}
	if len(f.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("ids %v", f.IDs))
	}
	if len(parts) == 0 {
		return "{} (any dead letter)"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
