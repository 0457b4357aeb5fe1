package omqtest_test

// These tests are omq's end-to-end tests of the milestone pipeline, and the
// examples of how an upstream team tests its own code against omq: start
// the System, publish as the upstream system does, and assert what
// OpenMoove (the sandbox) now shows.

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
)

// The typical upstream test: the CRM queues a new instruction, then its
// seller accepts an offer; OpenMoove must show "Offer Acceptance" completed.
func TestOfferAcceptedCompletesTheMilestone(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t)
	ctx := t.Context()

	// The CRM queues the property's creation...
	ack, err := omq.Publisher.CreateProperty(ctx, events.CreateProperty{CreateClientRequest: omqtest.PropertyRequest()})
	require.NoError(t, err)
	property := omq.RequirePropertyCreated(t, ack.ID)

	// ...and, later, tells omq the seller accepted an offer.
	_, err = omq.Publisher.Publish(ctx, events.Event{
		Type: events.TypeOfferAccepted, TransactionID: property.TransactionID, Actor: "Jane at the agency",
	})
	require.NoError(t, err)

	m := omq.RequireMilestoneCompleted(t, property.TransactionID, openmoove.MilestoneOfferAcceptance)
	require.NotNil(t, m.CompletedAt)

	// The CRM's own listener would see the outcome on OPENMOOVE_OUTCOMES.
	out := omq.RequireOutcome(t, events.OutcomeMilestoneCompleted, func(o events.Outcome) bool {
		return o.TransactionID == property.TransactionID
	})
	require.Equal(t, openmoove.MilestoneOfferAcceptance, out.Data["milestone"])
	require.Equal(t, "Jane at the agency", out.Data["actor"])
	omq.RequireNoDeadLetters(t)
}

// An auction platform's events complete the auction template's milestones:
// the second candidate of each event type.
func TestAuctionEventsCompleteAuctionMilestones(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	tx := omq.SeedProperty(t, func(r *openmoove.CreateClientRequest) {
		r.SaleMethod, r.AuctioneerEmail = openmoove.SaleModernAuction, "auctioneer@example.com"
	})

	for _, typ := range []string{events.TypePropertyListed, events.TypeContractsExchanged} {
		_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: typ, TransactionID: tx, Source: "auction-platform"})
		require.NoError(t, err)
	}

	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneAuctionMarket)
	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneAuctionExchange)
}

// Publishing the same event id twice (an upstream retry) completes the
// milestone once: one outcome, one update call.
func TestSameEventTwiceIsProcessedOnce(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	tx := omq.SeedProperty(t, nil)
	ev := events.Event{ID: "crm-legal-pack-42", Type: events.TypeLegalPackCompleted, TransactionID: tx}

	first, err := omq.Publisher.Publish(t.Context(), ev)
	require.NoError(t, err)
	again, err := omq.Publisher.Publish(t.Context(), ev)
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	require.True(t, again.Duplicate, "JetStream keeps one copy of an id inside the duplicate window")

	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneLegalPack)
	// The outcome is published after the update call: wait for it.
	out := omq.RequireOutcome(t, events.OutcomeMilestoneCompleted, nil)
	require.Equal(t, ev.ID, out.EventID)
	require.Len(t, omq.Outcomes(t, events.OutcomeMilestoneCompleted), 1)
	patches := 0
	for _, c := range omq.APICalls() {
		if c.Method == http.MethodPatch {
			patches++
		}
	}
	require.Equal(t, 1, patches, "one update call for one milestone")
}

// A publisher in another language reaches omq over TCP with any NATS
// client and omq's credentials. What it gets wrong cannot be refused at
// publish time, so omq dead-letters it with the reason.
func TestRawPublishFromAnotherClientIsDeadLetteredWithTheReason(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	nc, err := nats.Connect(omq.NATSURL, nats.UserInfo(omq.NATSUser, omq.NATSPassword))
	require.NoError(t, err)
	defer nc.Close()

	require.NoError(t, nc.Publish("openmoove.events.offer_accepted", []byte(`{"type":"offer_accepted"}`)))
	require.NoError(t, nc.Flush())

	dl := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Subject: "openmoove.events.offer_accepted"})
	require.Equal(t, "permanent", dl.Kind)
	require.Contains(t, dl.Error, "transaction_id")
}

// Like omq run's, the System's NATS refuses a client without its
// credentials; ConnectNATS presents them.
func TestNATSRefusesAClientWithoutCredentials(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	_, err := nats.Connect(omq.NATSURL, nats.MaxReconnects(0))
	require.ErrorIs(t, err, nats.ErrAuthorization)
	_, err = nats.Connect(omq.NATSURL, nats.UserInfo(omq.NATSUser, omq.NATSPassword+"x"), nats.MaxReconnects(0))
	require.ErrorIs(t, err, nats.ErrAuthorization)

	nc := omq.ConnectNATS(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.Stream(t.Context(), omq.Topology.DLQStream())
	require.NoError(t, err, "the credentials reach omq's streams")
}

// An event for a milestone the transaction lacks is dead-lettered at once,
// and the reason lists the milestones the transaction has.
func TestMissingMilestoneIsDeadLetteredWithTheNamesItHas(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	auction := omq.SeedProperty(t, func(r *openmoove.CreateClientRequest) {
		r.SaleMethod, r.AuctioneerEmail = openmoove.SaleModernAuction, "auctioneer@example.com"
	})

	_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: events.TypeOfferAccepted, TransactionID: auction})
	require.NoError(t, err)

	dl := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Kinds: []string{"permanent"}, Error: openmoove.MilestoneOfferAcceptance})
	require.Contains(t, dl.Error, openmoove.MilestoneAuctionExchange, "the reason lists the names the transaction has")
}

// An event for a transaction OpenMoove does not have is retried for the
// transaction grace (its creation may still be queued; 3s in omqtest), then
// dead-lettered with a reason that says what to check.
func TestUnknownTransactionIsDeadLetteredAfterTheGrace(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	published := time.Now()
	_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: events.TypeLegalPackCompleted, TransactionID: "no-such-transaction"})
	require.NoError(t, err)

	dl := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Error: "no-such-transaction"})
	require.Equal(t, "permanent", dl.Kind)
	require.Contains(t, dl.Error, "--transaction-grace")
	// FailedAt has whole seconds: allow for the truncation.
	require.GreaterOrEqual(t, dl.FailedAt.Sub(published), 2*time.Second, "retried for the grace first")
}

// Systems that speak HTTP post to omq's ingest with the bearer token.
func TestHTTPIngestCompletesTheMilestone(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	tx := omq.SeedProperty(t, nil)

	body := `{"type":"contracts_exchanged","transaction_id":"` + tx + `","actor":"conveyancer"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, omq.HTTPURL+"/v1/events", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+omqtest.IngestToken)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	require.NoError(t, err)
	var answer bytes.Buffer
	_, _ = answer.ReadFrom(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, answer.String())

	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneExchange)
}
