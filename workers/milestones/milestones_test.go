package milestones_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/workers/milestones"
)

func TestCompletesOnceAndPublishesOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	tx := b.property(t, "standard")
	ev := events.Event{ID: "evt-1", Type: events.TypeLegalPackCompleted, TransactionID: tx, Actor: "crm"}
	b.event(t, ev)
	b.event(t, ev) // the same id: JetStream drops it
	require.Eventually(t, func() bool { return b.completed(t, tx, "Legal Pack Preparation") }, 10*time.Second, 5*time.Millisecond)
	b.idle(t)
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 1 }, 5*time.Second, 5*time.Millisecond)
	o := b.outcomes(t)[0]
	require.Equal(t, "milestone_completed:evt-1", o.ID)
	require.Equal(t, events.OutcomeMilestoneCompleted, o.Kind)
	require.Equal(t, tx, o.TransactionID)
	require.Equal(t, "evt-1", o.EventID)
	require.Equal(t, "Legal Pack Preparation", o.Data["milestone"])
	require.NotContains(t, o.Data, "address", "omq did not create the property: its address is not known without a read")
	require.Equal(t, "crm", o.Data["actor"])
	require.Equal(t, 1, b.calls(http.MethodPatch, "/milestones/"), "processed once")
	require.Equal(t, 1, b.calls(http.MethodGet, "/milestones/"))

	// The same fact under a new id: already done, no call, no outcome.
	before := len(b.sb.Requests())
	b.event(t, events.Event{ID: "evt-2", Type: ev.Type, TransactionID: tx})
	require.Eventually(t, func() bool { return b.handler.Count(milestones.ResultAlreadyDone) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, before, len(b.sb.Requests()), "the cache knew: no API call")
	require.Len(t, b.outcomes(t), 1)

	// Another milestone of the same transaction: one PATCH, no read.
	b.event(t, events.Event{ID: "evt-3", Type: events.TypeOfferAccepted, TransactionID: tx})
	require.Eventually(t, func() bool { return b.completed(t, tx, "Offer Acceptance") }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, before+1, len(b.sb.Requests()))
}

func TestAuctionCandidates(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	tx := b.property(t, "modern_auction")
	b.event(t, events.Event{ID: "a-1", Type: events.TypePropertyListed, TransactionID: tx})
	b.event(t, events.Event{ID: "a-2", Type: events.TypeContractsExchanged, TransactionID: tx})
	require.Eventually(t, func() bool {
		return b.completed(t, tx, "Auction Marketing Period") && b.completed(t, tx, "Auction Exchange")
	}, 10*time.Second, 5*time.Millisecond)
	require.False(t, b.completed(t, tx, "Legal Pack Preparation"))
}

func TestBadInputIsDeadLetteredWithReason(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	tx := b.property(t, "standard")
	cases := []struct{ subject, body, want string }{
		{"legal_pack_completed", `{"type":`, "body: must be a JSON object"},
		{"offer_accepted", `{"type":"offer_accepted"}`, "transaction_id: required"},
		{"house_sold", `{"type":"house_sold","transaction_id":"` + tx + `"}`, `type: unknown type "house_sold"`},
		{"completion_date_set", `{"type":"completion_date_set","transaction_id":42}`, "transaction_id: must be a string"},
		{"property_listed", `{"type":"contracts_exchanged","transaction_id":"` + tx + `"}`, "does not match its subject"},
	}
	for _, c := range cases {
		b.publish(t, c.subject, "", c.body)
	}
	for _, c := range cases {
		reason, kind := b.deadLetter(t, c.subject)
		require.Contains(t, reason, c.want, c.subject)
		require.Equal(t, "permanent", kind)
	}
	require.Zero(t, b.calls("", "/properties/"), "bad input costs no API call")
}

func TestMissingMilestoneListsTheNames(t *testing.T) {
	t.Parallel()
	mapFile := filepath.Join(t.TempDir(), "map.yaml")
	require.NoError(t, os.WriteFile(mapFile, []byte("completion_date_set: Completion Date Agreed\n"), 0o600))
	b := setup(t, opts{cfg: func(c *config.Config) { c.MilestoneMap = mapFile }})
	tx := b.property(t, "standard")
	b.event(t, events.Event{ID: "m-1", Type: events.TypeCompletionDateSet, TransactionID: tx})
	reason, kind := b.deadLetter(t, events.TypeCompletionDateSet)
	require.Equal(t, "permanent", kind)
	require.Contains(t, reason, `no milestone "Completion Date Agreed"`)
	require.Contains(t, reason, "it has: Instruction, Legal Pack Preparation, Property Marketing")
}

func TestUnknownTransaction(t *testing.T) {
	t.Parallel()
	// Past the grace: a dead letter at once with a reason.
	b := setup(t, opts{cfg: func(c *config.Config) { c.TransactionGrace = time.Nanosecond }})
	b.event(t, events.Event{ID: "x-1", Type: events.TypeOfferAccepted, TransactionID: "999999"})
	reason, kind := b.deadLetter(t, events.TypeOfferAccepted)
	require.Equal(t, "permanent", kind)
	require.Contains(t, reason, "transaction 999999 not found (404)")
	require.Contains(t, reason, "--transaction-grace")

	// Within the grace: looked at again (a snooze, which spends none of the
	// message's failures: more looks than --max-failures allows), and
	// completed once the property exists.
	g := setup(t, opts{cfg: func(c *config.Config) { c.TransactionGrace = 5 * time.Second }})
	g.event(t, events.Event{ID: "x-2", Type: events.TypeOfferAccepted, TransactionID: "1"})
	require.Eventually(t, func() bool { return g.calls(http.MethodGet, "/properties/1/milestones/") > 3 }, 10*time.Second, 5*time.Millisecond)
	tx := g.property(t, "standard")
	p, _ := g.sb.Lookup(tx)
	require.EqualValues(t, 1, p.ID, "the numeric id the event named")
	require.Eventually(t, func() bool { return g.completed(t, tx, "Offer Acceptance") }, 10*time.Second, 5*time.Millisecond)
}

func TestNotifyMode(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{cfg: func(c *config.Config) { c.MilestoneMode = "notify" }})
	tx := b.property(t, "standard")
	b.event(t, events.Event{ID: "n-1", Type: events.TypeLegalPackCompleted, TransactionID: tx})
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "notify", b.outcomes(t)[0].Data["mode"])
	require.Zero(t, b.calls(http.MethodPatch, ""), "notify mode makes no update call")
	require.False(t, b.completed(t, tx, "Legal Pack Preparation"))
}

// An API without the update endpoint (405, or 404 on the path) is
// dead-lettered with a reason that names notify mode.
func TestUpdateEndpointMissing(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusMethodNotAllowed, http.StatusNotFound} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			noPatch := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPatch {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(code)
						_, _ = w.Write([]byte(`{"detail":"Method \"PATCH\" not allowed."}`))
						return
					}
					next.ServeHTTP(w, r)
				})
			}
			b := setup(t, opts{wrap: noPatch})
			tx := b.property(t, "standard")
			b.event(t, events.Event{ID: "p-1", Type: events.TypeOfferAccepted, TransactionID: tx})
			reason, kind := b.deadLetter(t, events.TypeOfferAccepted)
			require.Equal(t, "permanent", kind)
			require.Contains(t, reason, "--milestone-mode notify")
			require.True(t, strings.Contains(reason, fmt.Sprint(code)), reason)
		})
	}
}

// A PATCH whose connection drops has no HTTP status: it must be retried, not
// taken for a success (the handler once read "no status" as "done").
func TestDroppedUpdateIsRetried(t *testing.T) {
	t.Parallel()
	var dropped atomic.Bool
	dropFirstPatch := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && dropped.CompareAndSwap(false, true) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	b := setup(t, opts{wrap: dropFirstPatch})
	tx := b.property(t, "standard")
	b.event(t, events.Event{ID: "d-1", Type: events.TypeOfferAccepted, TransactionID: tx})
	require.Eventually(t, func() bool { return b.completed(t, tx, "Offer Acceptance") }, 10*time.Second, 5*time.Millisecond)
	require.True(t, dropped.Load())
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestReplayUsesOriginalID(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	tx := b.property(t, "standard")
	// No id in the body: the Msg-Id is the key; a replay's original id is
	// in Omq-Original-Msg-Id.
	body := []byte(`{"type":"completion_date_set","transaction_id":"` + tx + `"}`)
	b.publish(t, events.TypeCompletionDateSet, "orig-7", string(body))
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "orig-7", b.outcomes(t)[0].EventID)

	b.replay(t, events.TypeCompletionDateSet, string(body), "orig-7")
	require.Eventually(t, func() bool { return b.handler.Count(milestones.ResultRepublished) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, b.calls(http.MethodPatch, ""), "the replay of the event that completed it makes no call")
	require.Len(t, b.outcomes(t), 1, "and its outcome has the same id")
}

// An event with no id published with no Msg-Id is keyed by where it is
// stored, in the form a replay of its dead letter carries
// (deadletter.IdempotencyKey): the two must agree, or the replay of the event
// that completed a milestone would look like someone else's completion.
func TestEventWithoutAnyIDIsKeyedLikeItsReplay(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	tx := b.property(t, "standard")
	body := []byte(`{"type":"completion_date_set","transaction_id":"` + tx + `"}`)
	b.publish(t, events.TypeCompletionDateSet, "", string(body))
	require.Eventually(t, func() bool { return len(b.outcomes(t)) == 1 }, 10*time.Second, 5*time.Millisecond)
	want := deadletter.IdempotencyKey("", "", b.top.EventsStream(), 1)
	require.Equal(t, want, b.outcomes(t)[0].EventID)

	b.replay(t, events.TypeCompletionDateSet, string(body), want)
	require.Eventually(t, func() bool { return b.handler.Count(milestones.ResultRepublished) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, b.calls(http.MethodPatch, ""), "the replay makes no second call")
}

// A completed milestone leaves one INFO line with its ids, so an operator
// sees a backlog drain in the logs; the address the outcome carries and
// the seller's email stay out of it.
func TestCompletionIsLoggedWithIDsOnly(t *testing.T) {
	t.Parallel()
	var buf testkit.Buffer
	b := setup(t, opts{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	tx := b.property(t, "standard")
	b.event(t, events.Event{ID: "log-1", Type: events.TypeLegalPackCompleted, TransactionID: tx, Actor: "crm"})
	// The second only after the first completed: with several handlers the
	// two would race for which one completes the milestone.
	require.Eventually(t, func() bool { return b.handler.Count(milestones.ResultCompleted) == 1 }, 10*time.Second, 5*time.Millisecond)
	b.event(t, events.Event{ID: "log-2", Type: events.TypeLegalPackCompleted, TransactionID: tx}) // already done
	require.Eventually(t, func() bool { return b.handler.Count(milestones.ResultAlreadyDone) == 1 }, 10*time.Second, 5*time.Millisecond)

	var lines []map[string]any
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == "milestone completed" {
			lines = append(lines, rec)
		}
	}
	require.Len(t, lines, 1, "one line per completion, none for an event that found it done:\n%s", buf.String())
	rec := lines[0]
	require.Equal(t, "INFO", rec["level"])
	require.Equal(t, tx, rec["transaction_id"])
	require.Equal(t, "Legal Pack Preparation", rec["milestone"])
	require.NotZero(t, rec["milestone_id"])
	require.Equal(t, "log-1", rec["event_id"])
	require.Equal(t, events.TypeLegalPackCompleted, rec["event_type"])
	require.Equal(t, milestones.ResultCompleted, rec["result"])
	for _, personal := range []string{"Market Street", "ada@example.com", "Byron", "07700"} {
		require.NotContains(t, buf.String(), personal, "no personal data in the logs")
	}
}
