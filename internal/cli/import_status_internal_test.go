package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/imports"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

// A valid row no creation was queued for used to read "pending … queued";
// only a creation waiting in the commands stream is pending now.
func TestImportStatusTellsQueuedFromNeverQueued(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	_, err := streams.Apply(t.Context(), s.JS, top, nil)
	require.NoError(t, err)
	body, err := json.Marshal(events.CreateProperty{RequestID: "row-queued"})
	require.NoError(t, err)
	_, err = s.JS.Publish(t.Context(), top.CreatePropertySubject(), body)
	require.NoError(t, err)

	var out bytes.Buffer
	e := &Env{Stdout: &out}
	rows := []imports.Row{
		{Line: 2, Creation: events.CreateProperty{RequestID: "row-queued"}},
		{Line: 3, Creation: events.CreateProperty{RequestID: "row-never"}},
	}
	require.NoError(t, importStatus(t.Context(), e, s.JS, top, rows))
	require.Regexp(t, regexp.MustCompile(`(?m)^2 +pending +row-queued +queued, waiting for the property worker$`), out.String())
	require.Regexp(t, regexp.MustCompile(`(?m)^3 +not queued +row-never +no creation of it is queued: run omq import`), out.String())
	require.Contains(t, out.String(), "created 0, failed 0, pending 1, not queued 1, invalid 0")
}

// An import's rows are queued on the bulk subject, so their dead letters
// are too: import status finds a dead-lettered row there, as it does one
// on the live subject.
func TestImportStatusFindsDeadLettersOfBothCreationSubjects(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	_, err := streams.Apply(t.Context(), s.JS, top, nil)
	require.NoError(t, err)
	for i, tc := range []struct{ subject, id string }{
		{top.BulkCreatePropertySubject(), "row-bulk"},
		{top.CreatePropertySubject(), "row-live"},
	} {
		body, err := json.Marshal(events.CreateProperty{RequestID: tc.id})
		require.NoError(t, err)
		_, err = deadletter.Write(t.Context(), s.JS, top, deadletter.Failed{Subject: tc.subject, Data: body,
			Stream: top.CommandsStream(), Seq: uint64(i + 1), Deliveries: 1, Kind: "permanent",
			Error: "phone_number: Invalid phone number format", Worker: "properties-bulk"})
		require.NoError(t, err)
	}
	var out bytes.Buffer
	rows := []imports.Row{
		{Line: 2, Creation: events.CreateProperty{RequestID: "row-bulk"}},
		{Line: 3, Creation: events.CreateProperty{RequestID: "row-live"}},
	}
	require.NoError(t, importStatus(t.Context(), &Env{Stdout: &out}, s.JS, top, rows))
	require.Regexp(t, regexp.MustCompile(`(?m)^2 +failed +row-bulk +phone_number: Invalid phone number format \(dead letter 1`), out.String())
	require.Regexp(t, regexp.MustCompile(`(?m)^3 +failed +row-live +phone_number: Invalid phone number format \(dead letter 2`), out.String())
}
