package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/status"
	"github.com/openmoove/omq/streams"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Options configure New.
type Options struct {
	// JS reaches the NATS of the system the console shows.
	JS       jetstream.JetStream
	Topology streams.Topology
	// Config gives the settings the pages show or act by: the budget
	// limits, --stuck-after, --at-risk-within, the console's users,
	// token and session TTL.
	Config config.Config
	Logger *slog.Logger
	// Now is the clock of sessions, rate limits and the audit trail;
	// default time.Now. Tests move it.
	Now func() time.Time
	// Addr is the address the console is served on. Off loopback the
	// console refuses to start without users or a token.
	Addr string
	// TLS makes the session cookie Secure.
	TLS bool
	// Probe makes the breaker's probe call (GET /products/) through the
	// shared budget and says where it went; nil hides "probe now".
	Probe func(ctx context.Context) (where string, err error)
}

// Server is the console: an http.Handler for everything under Prefix, and
// a workers.Component whose one goroutine samples the streams for the
// last hour's throughput.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	auth     *authenticator
	sessions *sessions
	limits   *loginLimits
	pages    *pages
	mux      *http.ServeMux
	samples  *sampler
	dlRun    dlRunner // replay jobs started here (deadletter_jobs.go)

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// New checks the console's settings (users file, token, address) and
// builds it; it starts nothing (Start does).
func New(_ context.Context, o Options) (*Server, error) {
	if o.JS == nil {
		return nil, errors.New("console: Options.JS is nil")
	}
	if o.Logger == nil {
		o.Logger = logging.Discard()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger.With(logging.KeyComponent, "console")
	auth, err := newAuthenticator(o.Config.ConsoleUsers, o.Config.ConsoleToken, log)
	if err != nil {
		return nil, err
	}
	if auth.anonymous() && !config.Loopback(o.Addr) {
		return nil, fmt.Errorf("console on %s, which is not a loopback address, needs --console-users or --console-token: "+
			"without them anyone who reaches it could read it; create a user with omq console adduser NAME --role operator, "+
			"or set --console off", o.Addr)
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: log, now: o.Now, auth: auth,
		sessions: newSessions(o.JS, o.Topology, o.Now, o.Config.ConsoleSessionTTL), limits: newLoginLimits(o.Now), pages: pg,
		samples: newSampler(o.Now)}
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s, nil
}

// ServeHTTP serves every path under Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything is served from the binary: no inline script, nothing from
	// another origin, never framed (clickjacking of the action buttons).
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// routes are every page and action. A viewer page is wrapped in s.viewer,
// an action in s.operator; both check the CSRF token of a POST.
func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", staticHandler()))
	mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"overview", http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+Prefix+"login", s.loginPage)
	mux.HandleFunc("POST "+Prefix+"login", s.login)
	mux.Handle("POST "+Prefix+"logout", s.viewer(s.logout))
	mux.Handle("GET "+Prefix+"overview", s.viewer(s.overview))
	mux.Handle("GET "+Prefix+"overview/live", s.viewer(s.overviewLive))
	mux.Handle("POST "+Prefix+"breakers/{worker}/probe", s.operator(s.probeNow))
	mux.Handle("GET "+Prefix+"portfolio", s.viewer(s.portfolio))
	mux.Handle("GET "+Prefix+"imports", s.viewer(s.imports))
	mux.Handle("GET "+Prefix+"imports/{id}", s.viewer(s.importRows))
	mux.Handle("GET "+Prefix+"audit", s.viewer(s.auditPage))
	s.deadLetterRoutes(mux)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path+" (the menu lists every page)")
	})
}

// Name is the component's name in logs and errors.
func (s *Server) Name() string { return "console" }

// Start begins sampling the streams every sampleEvery, for the overview's
// throughput and wait over the last hour.
func (s *Server) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.samples.run(ctx, s.readStreams, s.log)
	}()
	return nil
}

// Stop ends the sampler; sessions are in the SESSIONS bucket and outlive
// it.
func (s *Server) Stop(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		select {
		case <-s.done:
		case <-ctx.Done():
			err = fmt.Errorf("console: sampler still running: %w", ctx.Err())
		}
	})
	if jerr := s.dlRun.stop(ctx); jerr != nil && err == nil {
		err = jerr
	}
	return err
}

func (s *Server) statusOptions() status.Options {
	c := s.opts.Config
	return status.Options{Topology: s.opts.Topology, StuckAfter: c.StuckAfter,
		Budget: budget.Limits{PerHour: c.BudgetPerHour, PerMinute: c.BudgetPerMinute}}
}

func (s *Server) readStreams(ctx context.Context) (*status.Status, error) {
	return status.ReadStreams(ctx, s.opts.JS, s.opts.Topology)
}
