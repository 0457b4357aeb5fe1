package omqtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
)

// Outcomes returns every outcome of kind the workers have published so far,
// oldest first (kind "" returns every kind). Kinds are events.Outcome*:
// "milestone_completed", "property_created",
// "alert.auction_milestones_missing". It does not wait: to wait for one,
// use RequireOutcome or the Require helpers.
func (s *System) Outcomes(t testing.TB, kind string) []events.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := s.out.read(ctx)
	if err != nil {
		t.Fatalf("omqtest: read outcomes: %v", err)
	}
	return ofKind(all, kind)
}

// RequireOutcome waits for an outcome of kind for which match returns true
// (a nil match takes any), and returns it. On timeout it fails the test
// with the outcomes it saw.
func (s *System) RequireOutcome(t testing.TB, kind string, match func(events.Outcome) bool) events.Outcome {
	t.Helper()
	var found events.Outcome
	ok, wait := s.poll(t, func(ctx context.Context) bool {
		all, err := s.out.read(ctx)
		if err != nil {
			return false
		}
		for _, o := range ofKind(all, kind) {
			if match == nil || match(o) {
				found = o
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("omqtest: waited %s for a matching %s outcome; %s", wait, kind, s.describeOutcomes(kind, nil))
	}
	return found
}

func ofKind(all []events.Outcome, kind string) []events.Outcome {
	var out []events.Outcome
	for _, o := range all {
		if kind == "" || o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// describeOutcomes says which outcomes of kind (those keep returns true for,
// when keep is set) the outcomes stream holds, for failure messages.
func (s *System) describeOutcomes(kind string, keep func(events.Outcome) bool) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := s.out.read(ctx)
	if err != nil {
		return fmt.Sprintf("the outcomes stream could not be read: %v", err)
	}
	var lines []string
	for _, o := range ofKind(all, kind) {
		if keep == nil || keep(o) {
			lines = append(lines, "\t"+outcomeLine(o))
		}
	}
	what := kind + " outcomes"
	if kind == "" {
		what = "outcomes"
	}
	if len(lines) == 0 {
		return fmt.Sprintf("saw no %s (%d outcomes of any kind)", what, len(all))
	}
	return fmt.Sprintf("saw %d %s:\n%s", len(lines), what, strings.Join(limit(lines, 20), "\n"))
}

func outcomeLine(o events.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", o.Kind, o.ID)
	if o.TransactionID != "" {
		fmt.Fprintf(&b, " transaction=%s", o.TransactionID)
	}
	if o.PropertyID != 0 {
		fmt.Fprintf(&b, " property=%d", o.PropertyID)
	}
	if o.EventID != "" {
		fmt.Fprintf(&b, " event=%s", o.EventID)
	}
	if m, ok := o.Data["milestone"]; ok {
		fmt.Fprintf(&b, " milestone=%q", m)
	}
	return b.String()
}

// limit keeps the first n lines and says how many more there were.
func limit(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	return append(lines[:n:n], fmt.Sprintf("\t… and %d more", len(lines)-n))
}

// outcomeLog reads the outcomes stream by sequence, remembering what it has
// read, so every look costs one request plus one per new outcome.
type outcomeLog struct {
	js     jetstream.JetStream
	stream string

	mu   sync.Mutex
	st   jetstream.Stream
	next uint64 // next sequence to read; 0 until the first read
	seen []events.Outcome
}

func (l *outcomeLog) read(ctx context.Context) ([]events.Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st == nil {
		st, err := l.js.Stream(ctx, l.stream)
		if err != nil {
			return nil, err
		}
		l.st, l.next = st, 1
	}
	info, err := l.st.Info(ctx)
	if err != nil {
		return nil, err
	}
	for ; l.next <= info.State.LastSeq; l.next++ {
		m, err := l.st.GetMsg(ctx, l.next)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		o, err := events.ParseOutcome(m.Data)
		if err != nil {
			continue // not an outcome omq wrote; nothing to assert on
		}
		l.seen = append(l.seen, o)
	}
	return append([]events.Outcome(nil), l.seen...), nil
}
