package console_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/console/browsertest"
	"github.com/openmoove/omq/internal/imports"
	"github.com/openmoove/omq/omqtest"
)

// importCSV is three creations and one row the API would refuse (its phone
// number), so the page has created and invalid rows.
const importCSV = "first_name,last_name,email,phone_number,property_address,property_postcode,conveyancer_email,request_id\n" +
	"Ada,Byron,ada@example.com,07700 900001,1 Mill Lane,LS1 4AB,conveyancer@example.com,crm-ada\n" +
	"Grace,Hopper,grace@example.com,07700 900002,2 Mill Lane,LS1 4AB,conveyancer@example.com,crm-grace\n" +
	"Alan,Turing,alan@example.com,not a phone,3 Mill Lane,LS1 4AB,conveyancer@example.com,crm-alan\n" +
	"Joan,Clarke,joan@example.com,07700 900004,4 Mill Lane,LS1 4AB,conveyancer@example.com,crm-joan\n"

func TestBrowserImportRowsBecomeCreated(t *testing.T) {
	t.Parallel()
	sys := omqtest.Start(t)
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology, o.Now = sys.JS, sys.Topology, time.Now })
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)

	// As omq import does: read the file, queue the valid rows, record it.
	path := filepath.Join(t.TempDir(), "instructions.csv")
	require.NoError(t, os.WriteFile(path, []byte(importCSV), 0o600))
	file, rows, err := imports.Read(path, "auto", nil)
	require.NoError(t, err)
	sum, err := imports.Queue(t.Context(), sys.Conn, sys.JS, sys.Topology, rows, imports.QueueOptions{})
	require.NoError(t, err)
	require.Equal(t, imports.Summary{Queued: 3, Invalid: 1}, sum)
	store, err := imports.OpenStore(t.Context(), sys.JS, sys.Topology)
	require.NoError(t, err)
	_, err = store.Save(t.Context(), file, "cli:tester", time.Now(), rows, sum)
	require.NoError(t, err)

	b := browsertest.New(t, 1280, 900)
	b.Login(ts.URL, "victor", "victor-password") // a viewer may read imports
	b.Do(chromedp.Navigate(ts.URL+"/console/imports"), chromedp.WaitVisible(chromedp.ID("imports")))
	row := b.Text(`#imports tr[data-import="` + file.ID + `"]`)
	require.Contains(t, row, "instructions.csv")
	require.Contains(t, row, "cli:tester")
	b.Do(chromedp.Click(chromedp.CSS(`#imports tr[data-import="`+file.ID+`"] a`)), chromedp.WaitVisible(chromedp.ID("import-rows")))

	// The page reads the rows' state when it is loaded: reload until the
	// properties worker has created all three in the sandbox.
	require.Eventually(t, func() bool {
		b.Do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("import-rows")))
		return strings.TrimSpace(b.TextNow(`a[data-status="created"] .count`)) == "3"
	}, omqtest.DefaultWait, 200*time.Millisecond, "three rows created; the page says %q", b.Text("#import-rows"))
	require.Contains(t, b.Text(`tr[data-line="2"]`), "created")
	require.Contains(t, b.Text(`tr[data-line="2"]`), "crm-ada")
	require.Regexp(t, `transaction [0-9a-f-]{36} \(property \d+\)`, b.Text(`tr[data-line="2"]`))
	require.Contains(t, b.Text(`tr[data-line="4"]`), "invalid")
	require.Contains(t, b.Text(`tr[data-line="4"]`), "phone_number")
	b.Screenshot("imports")

	// A filter is a URL: open it fresh and see only the invalid row.
	b.Do(chromedp.Navigate(ts.URL+"/console/imports/"+file.ID+"?status=invalid"), chromedp.WaitVisible(chromedp.ID("import-rows")))
	require.Equal(t, 1, b.Count("#import-rows tbody tr[data-line]"))
	require.Contains(t, b.Text("#import-rows tbody"), "Invalid phone number format")
	// The search keeps the filter and finds by request id.
	b.Do(chromedp.Navigate(ts.URL+"/console/imports/"+file.ID+"?q=crm-grace"), chromedp.WaitVisible(chromedp.ID("import-rows")))
	require.Equal(t, 1, b.Count("#import-rows tbody tr[data-line]"))
	require.True(t, strings.Contains(b.Text(`tr[data-line="3"]`), "created"))
}
