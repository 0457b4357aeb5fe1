package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/streams"
)

// on is b's cookies presented to another console: the same browser behind
// a load balancer that sends it to another replica.
func (b *browser) on(h http.Handler) *browser {
	return &browser{t: b.t, h: h, ip: b.ip, cookies: b.cookies}
}

// replicas are consoles on one NATS, as omq run replicas behind a load
// balancer are; they share the users file and the clock.
func replicas(t *testing.T, n int) ([]*console.Server, *natstest.Server, streams.Topology, string, *clock) {
	t.Helper()
	srv, top := testkit.JetStream(t)
	var file string
	first, clk := newConsole(t, func(o *console.Options) { o.JS, o.Topology, file = srv.JS, top, o.Config.ConsoleUsers })
	cs := []*console.Server{first}
	for range n - 1 {
		cs = append(cs, sameUsers(t, srv, top, file, clk))
	}
	return cs, srv, top, file, clk
}

// sameUsers is another console on srv with the users file and clock of
// the first.
func sameUsers(t *testing.T, srv *natstest.Server, top streams.Topology, file string, clk *clock) *console.Server {
	t.Helper()
	c, _ := newConsole(t, func(o *console.Options) {
		o.JS, o.Topology, o.Now, o.Config.ConsoleUsers = srv.JS, top, clk.Now, file
	})
	return c
}

func TestASessionIsSharedByReplicasAndEndsOnAllAtLogout(t *testing.T) {
	t.Parallel()
	cs, _, _, _, _ := replicas(t, 3)
	a, b, restarted := cs[0], cs[1], cs[2]
	onA := newBrowser(t, a, "10.0.4.1")
	require.Equal(t, http.StatusSeeOther, onA.login("alice", "alice-password").Code)
	onB := onA.on(b)

	w := onB.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusOK, w.Code, "replica B knows a login made on A")
	require.Contains(t, w.Body.String(), "alice · operator")
	// A console started after the login (a restart) knows it too.
	require.Equal(t, http.StatusOK, onA.on(restarted).do("GET", "/console/overview", nil, nil).Code)

	// An action on B with the CSRF token of a page A served.
	page := onA.do("GET", "/console/overview", nil, nil)
	w = onB.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {csrf(t, page)}}, nil)
	require.NotEqual(t, http.StatusForbidden, w.Code, "the session's CSRF token is the same on every replica: %s", w.Body.String())

	saved := onA.cookies["omq_console"]
	w = onA.do("POST", "/console/logout", url.Values{"csrf": {csrf(t, page)}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	onB.cookies["omq_console"] = saved // a copy of the cookie kept after logout
	w = onB.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, "a logout on A ends the session on B")
	require.Contains(t, w.Header().Get("Location"), "/console/login")
}

func TestANewConsoleOnTheSameNATSKeepsTheLogin(t *testing.T) {
	t.Parallel()
	cs, srv, top, file, clk := replicas(t, 1)
	old := cs[0]
	b := newBrowser(t, old, "10.0.4.2")
	require.Equal(t, http.StatusSeeOther, b.login("victor", "victor-password").Code)
	require.NoError(t, old.Stop(t.Context()))

	restarted := sameUsers(t, srv, top, file, clk)
	w := b.on(restarted).do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusOK, w.Code, "a restart does not log anyone out")
	require.Contains(t, w.Body.String(), "victor · viewer")

	clk.Add(time.Hour)
	require.Equal(t, http.StatusSeeOther, b.on(restarted).do("GET", "/console/overview", nil, nil).Code,
		"the session still ends after --console-session-ttl, by the console's clock")
}

// Whoever reads the bucket must not be able to use a session: the key is
// the id's SHA-256, and nothing in the value is the id, a password or a
// hash.
func TestTheBucketHoldsNoSessionIDAndNoPassword(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	var usersFile string
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology, usersFile = srv.JS, top, o.Config.ConsoleUsers })
	b := newBrowser(t, c, "10.0.4.3")
	require.Equal(t, http.StatusSeeOther, b.login("alice", "alice-password").Code)
	id := b.cookies["omq_console"].Value

	kv, err := srv.JS.KeyValue(t.Context(), top.SessionsBucket())
	require.NoError(t, err)
	keys, err := kv.Keys(t.Context())
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(id))
	require.Equal(t, []string{hex.EncodeToString(sum[:])}, keys)
	e, err := kv.Get(t.Context(), keys[0])
	require.NoError(t, err)
	v := string(e.Value())
	require.Contains(t, v, `"user":"alice"`)
	require.Contains(t, v, `"role":"operator"`)
	require.Contains(t, v, `"csrf":"`+csrf(t, b.do("GET", "/console/overview", nil, nil))+`"`)
	require.NotContains(t, v, id)
	require.NotContains(t, v, "alice-password")
	users, err := os.ReadFile(usersFile)
	require.NoError(t, err)
	for line := range strings.Lines(string(users)) {
		if f := strings.SplitN(strings.TrimSpace(line), ":", 3); len(f) == 3 {
			require.NotContains(t, v, f[2], "the bucket never holds a bcrypt hash")
		}
	}

	// A new login replaces the old session (fixation), in the bucket too.
	require.Equal(t, http.StatusSeeOther, b.login("alice", "alice-password").Code)
	require.NotEqual(t, id, b.cookies["omq_console"].Value)
	_, err = kv.Get(t.Context(), keys[0])
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound)
}

// Sessions outlive a restart, so the users file is what a session's user
// may do now: a demoted operator is a viewer on the next request, a
// removed user or a changed password ends the session on every replica.
func TestAChangedUsersFileAppliesToLiveSessions(t *testing.T) {
	t.Parallel()
	cs, _, _, file, _ := replicas(t, 2)
	a, b := cs[0], cs[1]
	alice := newBrowser(t, a, "10.0.4.4")
	victor := newBrowser(t, a, "10.0.4.5")
	require.Equal(t, http.StatusSeeOther, alice.login("alice", "alice-password").Code)
	require.Equal(t, http.StatusSeeOther, victor.login("victor", "victor-password").Code)
	page := alice.do("GET", "/console/overview", nil, nil)
	token := csrf(t, page)

	rewrite := func(content string) {
		t.Helper()
		fi, err := os.Stat(file)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
		// A whole second later, so the change shows whatever the file
		// system's time resolution.
		next := fi.ModTime().Add(time.Second)
		require.NoError(t, os.Chtimes(file, next, next))
	}
	// alice demoted (her line keeps its hash); victor removed.
	users, err := os.ReadFile(file)
	require.NoError(t, err)
	var kept []string
	for line := range strings.Lines(string(users)) {
		if strings.HasPrefix(line, "alice:") {
			kept = append(kept, strings.Replace(line, "alice:operator:", "alice:viewer:", 1))
		}
	}
	require.Len(t, kept, 1)
	rewrite(kept[0])

	w := alice.on(b).do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code, "a demoted operator may no longer act")
	require.Contains(t, w.Body.String(), "only an operator")
	require.Contains(t, alice.do("GET", "/console/overview", nil, nil).Body.String(), "alice · viewer")

	w = victor.on(b).do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, "a removed user is logged out")
	require.Equal(t, http.StatusSeeOther, victor.do("GET", "/console/overview", nil, nil).Code, "on every replica")

	// A new password ends the sessions made with the old one.
	rewrite("alice:viewer:" + hash(t, "a-new-alice-password") + "\n")
	require.Equal(t, http.StatusSeeOther, alice.do("GET", "/console/overview", nil, nil).Code)
	require.Equal(t, http.StatusSeeOther, alice.login("alice", "a-new-alice-password").Code)
	require.Contains(t, alice.on(b).do("GET", "/console/overview", nil, nil).Body.String(), "alice · viewer")

	// A broken file keeps the last good list rather than lock everyone out.
	rewrite("alice:viewer\n")
	require.Equal(t, http.StatusOK, alice.do("GET", "/console/overview", nil, nil).Code)
}

func TestWithoutNATSTheLoginPageSaysSo(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology = srv.JS, top })
	b := newBrowser(t, c, "10.0.4.6")
	require.Equal(t, http.StatusSeeOther, b.login("alice", "alice-password").Code)
	srv.Stop(t)

	for name, w := range map[string]func() *http.Response{
		"login page":            func() *http.Response { return b.do("GET", "/console/login", nil, nil).Result() },
		"login":                 func() *http.Response { return b.login("alice", "alice-password").Result() },
		"a page with a session": func() *http.Response { return b.do("GET", "/console/overview", nil, nil).Result() },
	} {
		resp := w()
		body := readAll(t, resp)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, name)
		require.Contains(t, body, "cannot reach NATS", name)
		require.Contains(t, body, "then reload", name)
		require.NotContains(t, body, "nats:", name+": the cause is logged, not shown")
		require.NotContains(t, body, "connection", name)
	}
}

func TestWithoutTheBucketTheLoginPageSaysWhatToRun(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	require.NoError(t, srv.JS.DeleteKeyValue(t.Context(), top.SessionsBucket()))
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology = srv.JS, top })
	w := newBrowser(t, c, "10.0.4.7").do("GET", "/console/login", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Contains(t, w.Body.String(), "Run omq streams apply")
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return string(b)
}
