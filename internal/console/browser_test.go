package console_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/console/browsertest"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

// browserConsole is a console on a fresh JetStream with a milestones
// worker whose breaker is open (an outage), probing the sandbox over real
// HTTP, served on a loopback port.
func browserConsole(t *testing.T) (base string, srv *natstest.Server, top streams.Topology) {
	t.Helper()
	srv, top = testkit.JetStream(t)
	_, api := testkit.Sandbox(t, sandbox.Config{})
	c, _ := newConsole(t, func(o *console.Options) {
		o.JS, o.Topology, o.Now = srv.JS, top, time.Now
		o.Probe = func(ctx context.Context) (string, error) { return "the sandbox", api.Probe(ctx) }
	})
	openBreaker(t, srv, top, "milestones", "503 Service Unavailable from OpenMoove (5 in a row)")
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return ts.URL, srv, top
}

// openBreaker records an open breaker for worker as the worker does when
// the API fails (the BREAKER bucket, its consumer paused).
func openBreaker(t *testing.T, srv *natstest.Server, top streams.Topology, worker, reason string) {
	ctx := t.Context()
	_, err := srv.JS.CreateOrUpdateConsumer(ctx, top.EventsStream(), jsConsumer(worker))
	require.NoError(t, err)
	until := time.Now().Add(15 * time.Minute)
	_, err = srv.JS.PauseConsumer(ctx, top.EventsStream(), worker, until)
	require.NoError(t, err)
	kv, err := srv.JS.KeyValue(ctx, top.BreakerBucket())
	require.NoError(t, err)
	v, _ := json.Marshal(map[string]any{"open": true, "until": until, "pause": 15 * time.Minute, "reason": reason, "by": "test"})
	_, err = kv.Put(ctx, worker, v)
	require.NoError(t, err)
}

func TestBrowserOperatorProbesAnOpenBreakerAndTheAuditListsIt(t *testing.T) {
	t.Parallel()
	base, srv, top := browserConsole(t)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "alice", "alice-password")
	b.Do(chromedp.WaitVisible(chromedp.ID("budget")))
	require.Contains(t, b.Text("#budget"), "This hour")
	require.Contains(t, b.Text("#budget"), "/ 1000", "the budget's hourly limit")
	require.Contains(t, b.Text(`#breakers tr[data-worker="milestones"]`), "open")
	require.Contains(t, b.Text(`#breakers tr[data-worker="milestones"]`), "503 Service Unavailable")
	b.Screenshot("overview")

	b.Do(chromedp.Click(chromedp.CSS(`tr[data-worker="milestones"] button.probe`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	require.Contains(t, b.Text(".flash"), "milestones resumed for every replica")
	require.Contains(t, b.Text(`#breakers tr[data-worker="milestones"]`), "closed")

	b.Do(chromedp.Navigate(base+"/console/audit"), chromedp.WaitVisible(chromedp.ID("audit")))
	row := b.Text("#audit tbody tr")
	require.Contains(t, row, "alice")
	require.Contains(t, row, "breaker.probe")
	require.Contains(t, row, "milestones")
	require.Contains(t, row, "ok")
	b.Screenshot("audit")

	es, err := audit.Recent(t.Context(), srv.JS, top, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 1, "one action, one entry")
}

func TestBrowserViewerSeesButCannotAct(t *testing.T) {
	t.Parallel()
	base, _, _ := browserConsole(t)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "victor", "victor-password")
	b.Do(chromedp.WaitVisible(chromedp.CSS(`#breakers tr[data-worker="milestones"]`)))
	require.Contains(t, b.Text("#who"), "victor · viewer")
	require.Contains(t, b.Text(`#breakers tr[data-worker="milestones"]`), "open", "a viewer sees the breaker")
	require.Zero(t, b.Count("button.probe"), "a viewer gets no probe button")
	// The page's own CSRF token, from its htmx headers: the refusal is the
	// role's, not a missing token's.
	token := browsertest.Run(b, chromedp.Evaluate[string](`JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]`))
	require.NotEmpty(t, token)
	status := b.Fetch("/console/breakers/milestones/probe", `{method: "POST", headers: {"X-CSRF-Token": "`+token+`"}}`)
	require.Equal(t, 403, status, "the POST is refused even with a valid token")
	b.Screenshot("overview-viewer")
}

func TestBrowserCrossSitePostWithoutTokenIsRefused(t *testing.T) {
	t.Parallel()
	base, srv, top := browserConsole(t)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "alice", "alice-password")
	// The same-origin POST without the token: what a forged form sends
	// once it gets past SameSite.
	require.Equal(t, 403, b.Fetch("/console/breakers/milestones/probe", `{method: "POST", body: new URLSearchParams("x=1")}`))

	// A page of another site (localhost is another site than 127.0.0.1 to
	// the browser) posting a form to the console: the browser sends no
	// session cookie (SameSite=Strict) and says cross-site.
	evil := httptest.NewServer(evilPage(base + "/console/breakers/milestones/probe"))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	b.Do(chromedp.Navigate(evilURL), chromedp.WaitVisible(chromedp.ID("go")), chromedp.Click(chromedp.ID("go")))
	require.Eventually(t, func() bool {
		return strings.HasPrefix(browsertest.Run(b, chromedp.Evaluate[string]("location.href")), base)
	}, 30*time.Second, 100*time.Millisecond, "the form was posted")
	b.Do(chromedp.WaitVisible(chromedp.CSS("body")))
	body := b.Text("body")
	require.Contains(t, body, "log in first", "the console saw no session in the cross-site POST")
	require.NotContains(t, body, "resumed", "the action did not run")
	es, err := audit.Recent(t.Context(), srv.JS, top, 10, 0)
	require.NoError(t, err)
	require.Empty(t, es, "no action ran, so none is audited")
	b.Do(chromedp.Navigate(base+"/console/overview"), chromedp.WaitVisible(chromedp.CSS(`#breakers tr[data-worker="milestones"]`)))
	require.Contains(t, b.Text(`#breakers tr[data-worker="milestones"]`), "open", "the breaker is still open")
}

func TestBrowserNarrowDarkScreen(t *testing.T) {
	t.Parallel()
	base, _, _ := browserConsole(t)
	b := browsertest.New(t, 1280, 900)
	// A phone's viewport: Chromium's window cannot be narrower than 500.
	b.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), browsertest.DarkMode())
	b.Login(base, "alice", "alice-password")
	b.Do(chromedp.WaitVisible(chromedp.ID("budget")))
	overflow := browsertest.Run(b, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth"))
	require.False(t, overflow, "nothing makes the page wider than a phone; wide tables scroll in their own box")
	bg := browsertest.Run(b, chromedp.Evaluate[string]("getComputedStyle(document.body).backgroundColor"))
	require.Equal(t, "rgb(20, 23, 27)", bg, "dark mode follows prefers-color-scheme")
	b.Screenshot("overview-narrow-dark")
}
