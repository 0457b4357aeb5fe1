package console_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/testkit"
)

func TestDeadLetterActionsRefuseAViewer(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	seedLetter(t, srv.JS, top, 1, eventBody(1, "M1 1AA"), "boom")
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology, o.Now = srv.JS, top, time.Now })
	b := newBrowser(t, c, "127.0.0.1")
	b.login("victor", "victor-password")
	page := b.do("GET", "/console/deadletters/1", nil, nil)
	require.Equal(t, 200, page.Code)
	require.NotContains(t, page.Body.String(), `id="dl-replay-one"`, "a viewer gets no button")
	token := csrf(t, page)
	for _, path := range []string{"/console/deadletters/replay", "/console/deadletters/purge", "/console/replayjobs", "/console/deadletters/1/edit"} {
		w := b.do("POST", path, url.Values{"csrf": {token}, "id": {"1"}, "confirm": {"yes"}, "through": {"1"}, "body": {"{}"}, "action": {"replay"}}, nil)
		require.Equal(t, 403, w.Code, "POST %s by a viewer", path)
	}
	require.EqualValues(t, 1, dlqMsgs(t, srv.JS, top), "nothing was replayed or purged")
}

func TestPurgeDeletesWhatItCountedAndIsAudited(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	for i := 1; i <= 3; i++ {
		seedLetter(t, srv.JS, top, uint64(i), eventBody(i, "M1 1AA"), "openmoove: PATCH /milestones/1/: 404 Not Found")
	}
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology, o.Now = srv.JS, top, time.Now })
	b := newBrowser(t, c, "127.0.0.1")
	b.login("alice", "alice-password")
	token := csrf(t, b.do("GET", "/console/deadletters", nil, nil))
	ask := b.do("POST", "/console/deadletters/purge", url.Values{"csrf": {token}, "status": {"404"}}, nil)
	require.Equal(t, 200, ask.Code)
	require.Contains(t, ask.Body.String(), "Delete 3 dead letters for good?")
	require.EqualValues(t, 3, dlqMsgs(t, srv.JS, top), "asking deletes nothing")

	// One more arrives between the question and the answer: it is kept.
	seedLetter(t, srv.JS, top, 4, eventBody(4, "M1 1AA"), "openmoove: PATCH /milestones/1/: 404 Not Found")
	through := regexpValue(t, ask.Body.String(), "through")
	w := b.do("POST", "/console/deadletters/purge", url.Values{"csrf": {token}, "status": {"404"}, "confirm": {"yes"}, "through": {through}}, nil)
	require.Equal(t, 303, w.Code)
	require.Contains(t, w.Header().Get("Location"), "deleted+3+dead+letters")
	require.EqualValues(t, 1, dlqMsgs(t, srv.JS, top))

	es, err := audit.Recent(t.Context(), srv.JS, top, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "dlq.purge", es[0].Kind)
	require.Equal(t, 3, es[0].Count)
	require.Equal(t, "--status 404", es[0].Filter)
}

func regexpValue(t *testing.T, html, name string) string {
	t.Helper()
	i := strings.Index(html, `name="`+name+`" value="`)
	require.GreaterOrEqual(t, i, 0, "no %s field", name)
	rest := html[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}
