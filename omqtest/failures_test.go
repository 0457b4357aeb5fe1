package omqtest_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// A failing Require says what it waited for and what it saw, so the test
// log alone explains the failure.
func TestFailuresSayWhatWasSeen(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWait(300*time.Millisecond),
		omqtest.WithSandbox(func(c *sandbox.Config) {
			c.Rejects = []sandbox.Reject{{Field: "property_address", Value: "1 Nowhere Road", Message: "We do not cover this address."}}
		}))
	auction := omq.SeedProperty(t, func(r *openmoove.CreateClientRequest) {
		r.SaleMethod, r.AuctioneerEmail = openmoove.SaleModernAuction, "auctioneer@example.com"
	})
	_, err := omq.Sandbox().CompleteMilestone(auction, openmoove.MilestoneInstruction)
	require.NoError(t, err)
	_, err = omq.Publisher.Publish(t.Context(), events.Event{ID: "crm-offer-7", Type: events.TypeOfferAccepted, TransactionID: auction})
	require.NoError(t, err)
	awaitDeadLetter(t, omq, omqtest.DeadLetterFilter{Subject: "openmoove.events.offer_accepted"})

	t.Run("milestone", func(t *testing.T) {
		msg := failure(t, func(tb testing.TB) { omq.RequireMilestoneCompleted(tb, auction, openmoove.MilestoneOfferAcceptance) })
		for _, want := range []string{
			`milestone "Offer Acceptance" of transaction ` + auction,          // what it waited for
			`"Instruction": completed 2`, `"Auction Exchange": not completed`, // the milestones it has
			"no milestone_completed outcomes",
			"1 related dead letter:", "crm-offer-7", "permanent", // the dead letter and its reason
		} {
			require.Contains(t, msg, want)
		}
	})
	t.Run("unknown transaction", func(t *testing.T) {
		msg := failure(t, func(tb testing.TB) { omq.RequireMilestoneCompleted(tb, "no-such-tx", openmoove.MilestoneLegalPack) })
		require.Contains(t, msg, "the sandbox has no transaction no-such-tx")
	})
	t.Run("property", func(t *testing.T) {
		req := omqtest.PropertyRequest()
		req.PropertyAddress = "1 Nowhere Road"
		ack, err := omq.Publisher.CreateProperty(t.Context(), events.CreateProperty{RequestID: "crm-refused-1", CreateClientRequest: req})
		require.NoError(t, err)
		awaitDeadLetter(t, omq, omqtest.DeadLetterFilter{Subject: "openmoove.commands.>"})
		msg := failure(t, func(tb testing.TB) { omq.RequirePropertyCreated(tb, ack.ID) })
		for _, want := range []string{"property_created outcome of request_id crm-refused-1", "We do not cover this address.", "OPENMOOVE_COMMANDS still holds 0"} {
			require.Contains(t, msg, want)
		}
	})
	t.Run("dead letter", func(t *testing.T) {
		msg := failure(t, func(tb testing.TB) {
			omq.RequireDeadLetter(tb, omqtest.DeadLetterFilter{Subject: "openmoove.events.legal_pack_completed", Kinds: []string{"exhausted"}})
		})
		for _, want := range []string{"{subject openmoove.events.legal_pack_completed, kind exhausted}", "2 dead letters", "from openmoove.events.offer_accepted (permanent"} {
			require.Contains(t, msg, want)
		}
	})
	t.Run("outcome", func(t *testing.T) {
		msg := failure(t, func(tb testing.TB) { omq.RequireOutcome(tb, events.OutcomePropertyCreated, nil) })
		require.Contains(t, msg, "saw no property_created outcomes")
	})
	t.Run("no dead letters", func(t *testing.T) {
		msg := failure(t, func(tb testing.TB) { omq.RequireNoDeadLetters(tb) })
		require.Contains(t, msg, "want no dead letters; 2 dead letters")
	})
}

// awaitDeadLetter waits for the set-up's own dead letters without the short
// wait (WithWait) that keeps the failing assertions fast: on a loaded machine
// a permanent failure can take longer than 300ms to reach the DLQ.
func awaitDeadLetter(t *testing.T, omq *omqtest.System, f omqtest.DeadLetterFilter) {
	t.Helper()
	require.Eventually(t, func() bool {
		ls, err := omq.DeadLetters.List(t.Context(), f)
		return err == nil && len(ls) > 0
	}, 30*time.Second, 10*time.Millisecond, "no dead letter matching %+v", f)
}

// failure runs f with a testing.TB that records the first Fatal instead of
// failing t, and returns its message; it fails t if f did not fail.
func failure(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	if rec.msg == "" {
		t.Fatal("the assertion passed; want it to fail")
	}
	t.Log(rec.msg)
	return rec.msg
}

type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
