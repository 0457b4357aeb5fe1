package omqtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
)

// RequireMilestoneCompleted waits until the sandbox shows the milestone
// name (case-insensitive, as the API's names are) of transaction tx
// completed, and returns it. tx is the transaction UUID or the numeric
// property id. The worker publishes its milestone_completed outcome just
// after the update call: to assert on the outcome, wait for it with
// RequireOutcome.
//
// On timeout it fails the test with every milestone the transaction has and
// whether it is completed, the milestone_completed outcomes of the
// transaction, and the dead letters that mention it.
func (s *System) RequireMilestoneCompleted(t testing.TB, tx, name string) openmoove.Milestone {
	t.Helper()
	var got openmoove.Milestone
	ok, wait := s.poll(t, func(context.Context) bool {
		m, found := s.milestone(tx, name)
		got = m
		return found && m.Completed
	})
	if !ok {
		t.Fatalf("omqtest: waited %s for milestone %q of transaction %s to be completed; %s\n%s\n%s",
			wait, name, tx, s.describeTransaction(tx),
			s.describeOutcomes(events.OutcomeMilestoneCompleted, func(o events.Outcome) bool { return o.TransactionID == tx }),
			s.describeDeadLetters(func(l string) bool { return strings.Contains(l, tx) }))
	}
	return got
}

// Milestones returns the milestones of transaction tx as the sandbox holds
// them now, in order; it fails the test if the sandbox has no such
// transaction.
func (s *System) Milestones(t testing.TB, tx string) []openmoove.Milestone {
	t.Helper()
	p, ok := s.sandbox.Lookup(tx)
	if !ok {
		t.Fatalf("omqtest: the sandbox has no transaction %s", tx)
	}
	return p.Milestones
}

func (s *System) milestone(tx, name string) (openmoove.Milestone, bool) {
	p, ok := s.sandbox.Lookup(tx)
	if !ok {
		return openmoove.Milestone{}, false
	}
	for _, m := range p.Milestones {
		if strings.EqualFold(m.Name, name) {
			return m, true
		}
	}
	return openmoove.Milestone{}, false
}

// describeTransaction lists the transaction's milestones with their state.
func (s *System) describeTransaction(tx string) string {
	p, ok := s.sandbox.Lookup(tx)
	if !ok {
		return fmt.Sprintf("the sandbox has no transaction %s (it holds %d properties)", tx, len(s.sandbox.Properties()))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "transaction %s (%s, %s) has %d milestones:", tx, p.Request.PropertyAddress, saleMethod(p.Request.SaleMethod), len(p.Milestones))
	for _, m := range p.Milestones {
		state := "not completed"
		if m.Completed && m.CompletedAt != nil {
			state = "completed " + m.CompletedAt.Format(time.RFC3339)
		} else if m.Completed {
			state = "completed"
		}
		fmt.Fprintf(&b, "\n\t%q: %s", m.Name, state)
	}
	return b.String()
}

func saleMethod(m string) string {
	if m == "" {
		return openmoove.SaleStandard
	}
	return m
}
