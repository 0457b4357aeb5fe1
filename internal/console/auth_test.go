package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/testkit"
)

// clock is a test clock the console's sessions and limits read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func hash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

// newConsole starts a console on a fresh JetStream with users alice
// (operator, password alice-password) and victor (viewer), and a token.
func newConsole(t *testing.T, mutate func(*console.Options)) (*console.Server, *clock) {
	t.Helper()
	srv, top := testkit.JetStream(t)
	file := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(file, []byte("# console users\nalice:operator:"+hash(t, "alice-password")+"\n\nvictor:viewer:"+hash(t, "victor-password")+"\n"), 0o600))
	cfg := config.Defaults()
	cfg.ConsoleUsers, cfg.ConsoleToken, cfg.ConsoleSessionTTL = file, "the-console-token", time.Hour
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	o := console.Options{JS: srv.JS, Topology: top, Config: cfg, Addr: "127.0.0.1:8080", Now: clk.Now,
		Probe: func(context.Context) (string, error) { return "http://api.test", nil }}
	if mutate != nil {
		mutate(&o)
	}
	c, err := console.New(t.Context(), o)
	require.NoError(t, err)
	return c, clk
}

var csrfInput = regexp.MustCompile(`(?:name="csrf" value="|"X-CSRF-Token": ")([^"]+)`)

// browser is a client of the handler with its cookies, from one address.
type browser struct {
	t       *testing.T
	h       http.Handler
	ip      string
	cookies map[string]*http.Cookie
}

func newBrowser(t *testing.T, h http.Handler, ip string) *browser {
	return &browser{t: t, h: h, ip: ip, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = b.ip + ":40000"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return w
}

// csrf is the token of the last page's form.
func csrf(t *testing.T, w *httptest.ResponseRecorder) string {
	m := csrfInput.FindStringSubmatch(w.Body.String())
	require.NotNil(t, m, "no csrf field in %s", w.Body.String())
	return m[1]
}

func (b *browser) login(user, password string) *httptest.ResponseRecorder {
	page := b.do("GET", "/console/login", nil, nil)
	return b.do("POST", "/console/login", url.Values{"user": {user}, "password": {password}, "csrf": {csrf(b.t, page)}}, nil)
}

func TestUsersFileErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	good := hash(t, "a-good-password")
	for name, tc := range map[string]struct{ file, want string }{
		"fields":    {"alice:operator\n", "line 1: want name:role:bcrypt-hash"},
		"role":      {"# c\nalice:admin:" + good + "\n", `line 2: user "alice": role "admin": want viewer or operator`},
		"hash":      {"alice:viewer:secret-in-clear\n", `line 1: user "alice": the third field is not a bcrypt hash`},
		"name":      {"\n\nal ice:viewer:" + good + "\n", `line 3: user name "al ice"`},
		"duplicate": {"bob:viewer:" + good + "\nbob:operator:" + good + "\n", `line 2: user "bob" appears twice`},
		"empty":     {"# nobody\n", "has no user"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := console.ParseUsers([]byte(tc.file), "users.txt")
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "users.txt")
			require.NotContains(t, err.Error(), "secret-in-clear", "an error never shows a hash field")
		})
	}
	users, err := console.ParseUsers([]byte("alice:operator:"+good+"\n"), "users.txt")
	require.NoError(t, err)
	require.Len(t, users, 1)
}

func TestUserLineRoundTrips(t *testing.T) {
	t.Parallel()
	line, err := console.UserLine("alice", console.Operator, []byte("correct horse battery"), bcrypt.MinCost)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "alice:operator:$2"))
	_, err = console.ParseUsers([]byte(line+"\n"), "f")
	require.NoError(t, err)
	_, err = console.UserLine("alice", console.Operator, []byte("short"), bcrypt.MinCost)
	require.ErrorContains(t, err, "at least 12")
	_, err = console.UserLine("alice", "root", []byte("correct horse battery"), bcrypt.MinCost)
	require.ErrorContains(t, err, "want viewer or operator")
}

func TestRefusesToStartOffLoopbackWithoutUsers(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.1:8080"} {
		_, err := console.New(t.Context(), console.Options{JS: srv.JS, Topology: top, Config: config.Defaults(), Addr: addr})
		require.ErrorContains(t, err, "needs --console-users or --console-token", addr)
	}
	for _, addr := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		_, err := console.New(t.Context(), console.Options{JS: srv.JS, Topology: top, Config: config.Defaults(), Addr: addr})
		require.NoError(t, err, addr)
	}
	cfg := config.Defaults()
	cfg.ConsoleToken = "t"
	_, err := console.New(t.Context(), console.Options{JS: srv.JS, Topology: top, Config: cfg, Addr: "0.0.0.0:8080"})
	require.NoError(t, err, "a token is enough off loopback")
}

func TestLoginWithPasswordTokenAndSessionExpiry(t *testing.T) {
	t.Parallel()
	c, clk := newConsole(t, nil)

	anon := newBrowser(t, c, "10.0.0.1")
	w := anon.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, "with users, nobody is let in without a login")
	require.Contains(t, w.Header().Get("Location"), "/console/login?next=")

	b := newBrowser(t, c, "10.0.0.2")
	require.Equal(t, http.StatusUnauthorized, b.login("alice", "wrong").Code)
	w = b.login("alice", "alice-password")
	require.Equal(t, http.StatusSeeOther, w.Code)
	sc := b.cookies["omq_console"]
	require.NotNil(t, sc)
	require.True(t, sc.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sc.SameSite)
	w = b.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "alice · operator")

	tok := newBrowser(t, c, "10.0.0.3")
	require.Equal(t, http.StatusSeeOther, tok.login("", "the-console-token").Code)
	require.Contains(t, tok.do("GET", "/console/overview", nil, nil).Body.String(), "token · operator")

	clk.Add(time.Hour)
	w = b.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, "a session ends after --console-session-ttl")
}

func TestLoginIsRateLimitedPerAddressAndPerName(t *testing.T) {
	t.Parallel()
	c, clk := newConsole(t, nil)
	b := newBrowser(t, c, "10.0.1.1")
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, b.login("alice", "guess").Code)
	}
	w := b.login("alice", "alice-password")
	require.Equal(t, http.StatusTooManyRequests, w.Code, "the sixth attempt within a minute is refused, right password or not")
	require.NotEmpty(t, w.Header().Get("Retry-After"))

	other := newBrowser(t, c, "10.0.1.2")
	require.Equal(t, http.StatusTooManyRequests, other.login("alice", "alice-password").Code, "the name is limited from any address")
	require.Equal(t, http.StatusSeeOther, other.login("victor", "victor-password").Code, "another name from another address is not")
	require.Equal(t, http.StatusTooManyRequests, b.login("victor", "victor-password").Code, "the address is limited whatever the name")

	clk.Add(13 * time.Second)
	require.Equal(t, http.StatusSeeOther, newBrowser(t, c, "10.0.1.3").login("alice", "alice-password").Code, "one more attempt after 12 s")
}

func TestViewerCannotActAndPostsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	c, _ := newConsole(t, nil)
	v := newBrowser(t, c, "10.0.2.1")
	v.login("victor", "victor-password")
	page := v.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusOK, page.Code)
	require.NotContains(t, page.Body.String(), "Probe now")
	w := v.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {csrf(t, page)}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Contains(t, w.Body.String(), "only an operator")

	o := newBrowser(t, c, "10.0.2.2")
	o.login("alice", "alice-password")
	page = o.do("GET", "/console/overview", nil, nil)
	w = o.do("POST", "/console/breakers/milestones/probe", url.Values{}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Contains(t, w.Body.String(), "no CSRF token")
	w = o.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {"forged"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	w = o.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {csrf(t, page)}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, w.Code, "a cross-site request is refused even with the token")
}

func TestProbeNowIsAuditedWithItsResult(t *testing.T) {
	t.Parallel()
	probeErr := errors.New("502 Bad Gateway")
	srv, top := testkit.JetStream(t)
	c, _ := newConsole(t, func(o *console.Options) {
		o.JS, o.Topology = srv.JS, top
		o.Probe = func(context.Context) (string, error) { return "http://api.test", probeErr }
	})
	// A worker's consumer on a work stream is what the overview lists.
	_, err := srv.JS.CreateOrUpdateConsumer(t.Context(), top.EventsStream(), jsConsumer("milestones"))
	require.NoError(t, err)
	o := newBrowser(t, c, "10.0.3.1")
	o.login("alice", "alice-password")
	page := o.do("GET", "/console/overview", nil, nil)
	require.Contains(t, page.Body.String(), "Probe now")
	w := o.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {csrf(t, page)}}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "502 Bad Gateway")

	es, err := audit.Recent(t.Context(), srv.JS, top, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "alice", es[0].User)
	require.Equal(t, "operator", es[0].Role)
	require.Equal(t, "breaker.probe", es[0].Kind)
	require.Equal(t, "milestones", es[0].Target)
	require.Contains(t, es[0].Result, "502 Bad Gateway")
	require.Contains(t, o.do("GET", "/console/audit", nil, nil).Body.String(), "breaker.probe")
}

func TestAnonymousConsoleIsReadOnly(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	c, err := console.New(t.Context(), console.Options{JS: srv.JS, Topology: top, Config: config.Defaults(), Addr: "127.0.0.1:8080",
		Probe: func(context.Context) (string, error) { return "", nil }})
	require.NoError(t, err)
	b := newBrowser(t, c, "127.0.0.1")
	page := b.do("GET", "/console/overview", nil, nil)
	require.Equal(t, http.StatusOK, page.Code)
	require.Contains(t, page.Body.String(), "anonymous · viewer")
	w := b.do("POST", "/console/breakers/milestones/probe", url.Values{"csrf": {csrf(t, page)}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
}
