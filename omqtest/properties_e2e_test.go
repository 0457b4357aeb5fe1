package omqtest_test

// omq's end-to-end tests of the property pipeline, written as examples for
// teams that queue property creations.

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// A creation published three times with one request_id (an upstream retry
// loop, a re-imported file) is one OpenMoove property.
func TestOneRequestIDIsOneProperty(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("properties"))
	req := events.CreateProperty{RequestID: "crm-instruction-981", CreateClientRequest: omqtest.PropertyRequest()}

	for range 3 {
		_, err := omq.Publisher.CreateProperty(t.Context(), req)
		require.NoError(t, err)
	}

	p := omq.RequirePropertyCreated(t, "crm-instruction-981")
	require.Equal(t, req.PropertyAddress, p.Request.PropertyAddress)
	require.Equal(t, []string{"moove-ready-pack"}, p.Request.Products, "the worker's default products")
	require.NotEmpty(t, p.Milestones)

	same := 0
	for _, q := range omq.Sandbox().Properties() {
		if q.Request.PropertyAddress == req.PropertyAddress {
			same++
		}
	}
	require.Equal(t, 1, same, "one property for one request_id")
	require.Len(t, omq.Outcomes(t, events.OutcomePropertyCreated), 1)
}

// The API refuses a creation the local validator accepted: the dead letter
// carries the API's field error; an operator fixes the body and replays it,
// and the property is created once.
func TestRefusedCreationIsDeadLetteredThenFixedAndReplayed(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t,
		omqtest.WithWorkers("properties"),
		omqtest.WithSandbox(func(c *sandbox.Config) {
			c.Rejects = []sandbox.Reject{{Field: "property_postcode", Value: "ZZ9 9ZZ", Message: "We do not cover this postcode."}}
		}),
	)
	req := omqtest.PropertyRequest()
	req.PropertyPostcode = "ZZ9 9ZZ"
	ack, err := omq.Publisher.CreateProperty(t.Context(), events.CreateProperty{CreateClientRequest: req})
	require.NoError(t, err)

	dl := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Subject: "openmoove.commands.create_property"})
	require.Equal(t, "permanent", dl.Kind)
	require.Contains(t, dl.Error, "We do not cover this postcode.")

	var body map[string]any
	require.NoError(t, json.Unmarshal(dl.Data, &body))
	body["property_postcode"] = "LS1 4AB"
	fixed, err := json.Marshal(body)
	require.NoError(t, err)
	_, err = omq.DeadLetters.Replay(t.Context(), dl.ID, deadletter.ReplayOptions{Body: fixed})
	require.NoError(t, err)

	p := omq.RequirePropertyCreated(t, ack.ID)
	require.Equal(t, "LS1 4AB", p.Request.PropertyPostcode)
	omq.RequireNoDeadLetters(t)
}

// Both pipelines together, as a CRM drives them: queue the creation, learn
// the transaction id from the property_created outcome, then publish the
// sale's events for it.
func TestCreationThenItsEvents(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t)
	ack, err := omq.Publisher.CreateProperty(t.Context(), events.CreateProperty{CreateClientRequest: omqtest.PropertyRequest()})
	require.NoError(t, err)
	p := omq.RequirePropertyCreated(t, ack.ID)

	for _, typ := range []string{events.TypeLegalPackCompleted, events.TypePropertyListed, events.TypeOfferAccepted} {
		_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: typ, TransactionID: p.TransactionID})
		require.NoError(t, err)
	}
	for _, name := range []string{openmoove.MilestoneLegalPack, openmoove.MilestoneMarketing, openmoove.MilestoneOfferAcceptance} {
		omq.RequireMilestoneCompleted(t, p.TransactionID, name)
	}
	omq.RequireNoDeadLetters(t)
}
