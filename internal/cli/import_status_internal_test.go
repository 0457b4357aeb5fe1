package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

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
