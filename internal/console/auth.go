package console

import (
	"context"
	"crypto/subtle"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
		ss, ok := s.session(w, r)
		if !ok {
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

// session is the request's live session; a console without users gives
// every visitor a read-only one.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*session, bool) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if ss, ok := s.sessions.get(c.Value); ok {
			return ss, true
		}
	}
	if !s.auth.anonymous() || unsafe(r.Method) {
		return nil, false
	}
	ss := s.sessions.create(Anonymous)
	s.setSessionCookie(w, ss)
	return ss, true
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

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, msg, name string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: Prefix + "login", HttpOnly: true,
		Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	d := loginData{Next: safeNext(r.FormValue("next")), Token: tok, HasToken: s.auth.token != "",
		HasUsers: len(s.auth.users) > 0, Anonymous: s.auth.anonymous(), Error: msg, Name: name}
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
	u, ok := s.auth.check(name, r.PostFormValue("password"))
	if !ok {
		s.log.Info("console login failed", "user", name, "remote", clientIP(r))
		s.renderLogin(w, r, http.StatusUnauthorized, "Wrong name or password.", name)
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(old.Value) // a new login never keeps an old id (fixation)
	}
	ss := s.sessions.create(u)
	s.setSessionCookie(w, ss)
	s.log.Info("console login", "user", u.Name, "role", string(u.Role), "remote", clientIP(r))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.sessions.end(current(r).id)
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
