package console_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/imports"
	"github.com/openmoove/omq/internal/testkit"
)

// The Imports page says what omq import status says: a row whose creation
// waits in the commands stream is pending, a valid row nothing was queued
// for is "not queued" (import again), not "pending … queued", which sent
// operators waiting for work that never existed.
func TestImportPageTellsQueuedFromNeverQueued(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology = srv.JS, top })

	// No property worker runs: Ada's creation stays in the commands stream.
	path := filepath.Join(t.TempDir(), "instructions.csv")
	require.NoError(t, os.WriteFile(path, []byte(importCSV), 0o600))
	file, rows, err := imports.Read(path, "auto", nil)
	require.NoError(t, err)
	sum, err := imports.Queue(t.Context(), srv.Conn, srv.JS, top, rows[:1], imports.QueueOptions{Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, imports.Summary{Queued: 1}, sum)
	store, err := imports.OpenStore(t.Context(), srv.JS, top)
	require.NoError(t, err)
	_, err = store.Save(t.Context(), file, "cli:tester", time.Now(), rows, sum)
	require.NoError(t, err)

	b := newBrowser(t, c, "127.0.0.1")
	b.login("victor", "victor-password")
	w := b.do("GET", "/console/imports/"+file.ID, nil, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	page := w.Body.String()
	row := func(line string) string {
		m := regexp.MustCompile(`(?s)<tr data-line="` + line + `">.*?</tr>`).FindString(page)
		require.NotEmpty(t, m, "no row %s in %s", line, page)
		return m
	}
	require.Contains(t, row("2"), `<span class="pill s-pending">pending</span>`)
	require.Contains(t, row("2"), "queued, waiting for the property worker")
	for _, line := range []string{"3", "5"} {
		require.Contains(t, row(line), `<span class="pill s-not-queued">not queued</span>`)
		require.Contains(t, row(line), "run omq import on the file again")
	}
	require.Contains(t, row("4"), "invalid")
	require.Regexp(t, `data-status="not queued"[^>]*>not queued \(<span class="count">2</span>\)`, page)

	// The filter is a URL like the others.
	w = b.do("GET", "/console/imports/"+file.ID+"?status=not+queued", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, regexp.MustCompile(`<tr data-line=`).FindAllString(w.Body.String(), -1), 2)
}
