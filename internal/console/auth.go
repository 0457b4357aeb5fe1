package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openmoove/omq/internal/logging"
)

const (
	// sessionCookie holds the session id: HttpOnly (no script reads it),
	// SameSite=Strict (no other site's page sends it), Secure under TLS.
	sessionCookie = "omq_console"
	// loginCookie is the login form's double-submit CSRF token: a page of
	// another site cannot read it to log a browser in as someone else.
	loginCookie = "omq_console_login"
	// csrfField and csrfHeader carry a session's CSRF token in a form and
	// in an htmx request.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

type ctxKey struct{}

// current is the session of a request that passed s.viewer or s.operator.
func current(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxKey{}).(*session)
	return ss
}

// CurrentUser is who made the request.
func CurrentUser(r *http.Request) User {
	if ss := current(r); ss != nil {
		return ss.user
	}
	return User{}
}

// viewer lets in anyone logged in: every page is a viewer's. A request
// that changes something must carry the session's CSRF token.
func (s *Server) viewer(h http.HandlerFunc) http.Handler {
	return s.require(Viewer, h)
}

// operator lets in operators only: a viewer gets 403 even when the page
// has no button for the action.
func (s *Server) operator(h http.HandlerFunc) http.Handler {
	return s.require(Operator, h)
}

func (s *Server) require(role Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := s.session(w, r)
		var se *storeError
		if errors.As(err, &se) {
			s.unavailable(w, r, se)
			return
		}
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusUnauthorized, "log in first: your session has ended or never began")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss))
		if unsafe(r.Method) {
			if reason := s.csrfProblem(r, ss); reason != "" {
				s.log.Warn("console request refused: CSRF", "user", ss.user.Name, "path", r.URL.Path, "reason", reason)
				s.fail(w, r, http.StatusForbidden, "refused: "+reason+"; reload the page and try again")
				return
			}
		}
		if role == Operator && !ss.user.Operator() {
			s.fail(w, r, http.StatusForbidden, fmt.Sprintf("refused: %s is a %s, and only an operator may do this", ss.user.Name, ss.user.Role))
			return
		}
		h(w, r)
	})
}

func unsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// session is the request's live session, its user as the users file has
// them now; a console without users gives every visitor a read-only one.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*session, error) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss, err := s.sessions.get(r.Context(), c.Value)
		if err == nil {
			if ss.user, err = s.still(r, ss); err == nil {
				return ss, nil
			}
		}
		if !errors.Is(err, errNoSession) {
			return nil, err
		}
	}
	if !s.auth.anonymous() || unsafe(r.Method) {
		return nil, errNoSession
	}
	ss, err := s.sessions.create(r.Context(), Anonymous, viaAnonymous, func(id string) string { return s.auth.seal(viaAnonymous, "", id) })
	if err != nil {
		return nil, err
	}
	s.setSessionCookie(w, ss)
	return ss, nil
}

// still is ss's user as the users file and token have them now. A user
// removed, or whose password or the token changed, loses the session on
// every replica; a changed role applies at once.
func (s *Server) still(r *http.Request, ss *session) (User, error) {
	u, ok := s.auth.current(ss)
	if ok {
		if u.Role != ss.user.Role {
			s.log.Debug("console user's role changed in the users file; the session goes on with the new one", "user", u.Name, "was", string(ss.user.Role), "now", string(u.Role))
		}
		return u, nil
	}
	s.log.Info("console session ended: its user is no longer in the users file, or the password or token changed", "user", ss.user.Name, "remote", clientIP(r))
	if err := s.sessions.end(r.Context(), ss.id); err != nil {
		s.log.Warn("console session not removed from the bucket; it is refused anyway", logging.KeyError, err)
	}
	return User{}, errNoSession
}

// unavailable answers a request when the sessions bucket is out of reach:
// the login page, with what to check. The cause is logged, not shown.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, se *storeError) {
	s.log.Error("console cannot read or write its sessions", logging.KeyError, se, "path", r.URL.Path)
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") == "true" {
		s.fail(w, r, http.StatusServiceUnavailable, se.advice())
		return
	}
	s.renderLogin(w, r, http.StatusServiceUnavailable, se.advice(), "")
}

// csrfProblem says why an unsafe request is refused, or "".
func (s *Server) csrfProblem(r *http.Request, ss *session) string {
	// Browsers say where a request comes from; a request another site
	// made is refused whatever it carries.
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "the request came from another site"
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" {
		return "the form carried no CSRF token"
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
		return "the form's CSRF token is not this session's"
	}
	return ""
}

func (s *Server) setSessionCookie(w http.ResponseWriter, ss *session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ss.id, Path: Prefix, HttpOnly: true,
		Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode, Expires: ss.expires})
}

type loginData struct {
	Next      string
	Token     string
	HasToken  bool
	HasUsers  bool
	Anonymous bool
	Error     string
	Name      string
}

// loginPage says at once when logins cannot be kept (NATS down, or the
// bucket missing), rather than after the password.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	var se *storeError
	if err := s.sessions.check(r.Context()); errors.As(err, &se) {
		s.log.Error("console cannot reach its sessions", logging.KeyError, se)
		s.renderLogin(w, r, http.StatusServiceUnavailable, se.advice(), "")
		return
	}
	s.renderLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, msg, name string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: Prefix + "login", HttpOnly: true,
		Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	d := loginData{Next: safeNext(r.FormValue("next")), Token: tok, HasToken: s.auth.token != "",
		HasUsers: s.auth.hasUsers(), Anonymous: s.auth.anonymous(), Error: msg, Name: name}
	s.renderStatus(w, r, code, "login", d)
}

// login checks the rate limits first (a refused attempt costs no bcrypt
// time), then the form's CSRF token, then the password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("user"))
	ok, wait := s.limits.allow("ip:"+clientIP(r), "user:"+name)
	if !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.Warn("console login refused: too many attempts", "user", name, "remote", clientIP(r))
		s.renderLogin(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many login attempts: try again in %d s.", secs), name)
		return
	}
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		s.renderLogin(w, r, http.StatusForbidden, "The login form had expired or came from another site: log in again.", name)
		return
	}
	u, via, ok := s.auth.check(name, r.PostFormValue("password"))
	if !ok {
		s.log.Info("console login failed", "user", name, "remote", clientIP(r))
		s.renderLogin(w, r, http.StatusUnauthorized, "Wrong name or password.", name)
		return
	}
	var se *storeError
	if old, err := r.Cookie(sessionCookie); err == nil {
		// A new login never keeps an old id (fixation), on any replica.
		if err := s.sessions.end(r.Context(), old.Value); errors.As(err, &se) {
			s.log.Error("console login not saved", "user", u.Name, logging.KeyError, se)
			s.renderLogin(w, r, http.StatusServiceUnavailable, se.advice(), name)
			return
		}
	}
	ss, err := s.sessions.create(r.Context(), u, via, func(id string) string { return s.auth.seal(via, u.Name, id) })
	if errors.As(err, &se) {
		s.log.Error("console login not saved", "user", u.Name, logging.KeyError, se)
		s.renderLogin(w, r, http.StatusServiceUnavailable, se.advice(), name)
		return
	}
	if err != nil {
		s.log.Error("console login not saved", "user", u.Name, logging.KeyError, err)
		s.renderLogin(w, r, http.StatusInternalServerError, "The login could not be saved; try again.", name)
		return
	}
	s.setSessionCookie(w, ss)
	s.log.Info("console login", "user", u.Name, "role", string(u.Role), "remote", clientIP(r))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout ends the session on every replica. If the bucket cannot be
// written the cookie is kept, so the person can log out again once NATS
// is back rather than leave a live session behind.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.end(r.Context(), current(r).id); err != nil {
		s.log.Error("console logout not saved", "user", current(r).user.Name, logging.KeyError, err)
		s.fail(w, r, http.StatusServiceUnavailable, "Not logged out: the console cannot reach NATS, where it keeps logins, so the session would stay valid. Try again once NATS is back.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix + "overview"
	}
	return next
}

// clientIP is the address the connection comes from. X-Forwarded-For is
// not trusted: any client can write it, and a limit per address it sets
// would be no limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
