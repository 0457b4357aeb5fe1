package deadletter_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove/sandbox"
)

const refusedAddress = "1 Nowhere Road"

// An operator's round trip written outside omq with public packages only:
// a creation OpenMoove refuses is dead-lettered; the letter is read, its
// body fixed and replayed, and the property is created; a second refusal
// is purged.
func TestReadFixReplayAndPurge(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("properties"), omqtest.WithSandbox(func(c *sandbox.Config) {
		c.Rejects = []sandbox.Reject{{Field: "property_address", Value: refusedAddress, Message: "We do not cover this address."}}
	}))
	store := deadletter.NewStore(omq.JS, omq.Topology)
	refused := deadletter.Filter{Subject: omq.Topology.CreatePropertySubject(), Kinds: []string{"permanent"}}

	refuse(t, omq, "crm-refused-1")
	letter := awaitLetter(t, omq, store, refused)
	require.Contains(t, letter.Error, "We do not cover this address.")

	var cp events.CreateProperty
	require.NoError(t, json.Unmarshal(letter.Data, &cp))
	cp.PropertyAddress = "7 Market Street, Manchester"
	fixed, err := json.Marshal(cp)
	require.NoError(t, err)
	res, err := store.Replay(t.Context(), letter.ID, deadletter.ReplayOptions{Body: fixed})
	require.NoError(t, err)
	require.Equal(t, omq.Topology.CreatePropertySubject(), res.Subject)
	omq.RequirePropertyCreated(t, "crm-refused-1")
	_, err = store.Get(t.Context(), letter.ID)
	require.ErrorIs(t, err, deadletter.ErrNotFound, "a replayed letter leaves the DLQ")

	refuse(t, omq, "crm-refused-2")
	awaitLetter(t, omq, store, refused)
	n, err := store.Purge(t.Context(), refused)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	left, err := store.List(t.Context(), deadletter.Filter{})
	require.NoError(t, err)
	require.Empty(t, left)
}

func refuse(t *testing.T, omq *omqtest.System, requestID string) {
	t.Helper()
	req := omqtest.PropertyRequest()
	req.PropertyAddress = refusedAddress
	_, err := omq.Publisher.CreateProperty(t.Context(), events.CreateProperty{RequestID: requestID, CreateClientRequest: req})
	require.NoError(t, err)
}

func awaitLetter(t *testing.T, omq *omqtest.System, store *deadletter.Store, f deadletter.Filter) deadletter.Letter {
	t.Helper()
	var got []deadletter.Letter
	omq.WaitFor(t, "a dead letter", func() bool {
		ls, err := store.List(t.Context(), f)
		got = ls
		return err == nil && len(ls) == 1
	})
	return got[0]
}
