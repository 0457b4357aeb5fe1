package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

// Options configure Start.
type Options struct {
	Config config.Config
	Logger *slog.Logger
	// Only names the roles to start; empty starts every role.
	Only []string
	// MemoryStreams keeps streams and buckets in memory (omqtest): faster to
	// start, gone with the process.
	MemoryStreams bool
	// EmbeddedMaxStore caps the embedded server's JetStream file store
	// (0: nats-server's default, 75% of the disk's free space); tests fill
	// a small one.
	EmbeddedMaxStore int64
	// Sandbox, if set, adjusts the in-process sandbox's configuration
	// before it starts (tests scale its rate limits or seed it).
	Sandbox func(*sandbox.Config)
	// OnStep, if set, is told each shutdown step as it completes
	// ("http", "roles", "nats-drain", "sandbox", "nats-server"); tests use
	// it to check the order.
	OnStep func(step string)
}

// System is a running omq.
type System struct {
	opts     Options
	log      *slog.Logger
	deps     Deps
	embedded *broker.Embedded
	// credsFile is the generated password file of the embedded server, or
	// "" when the operator gave credentials or NATS is external.
	credsFile string
	api       *apiHandle
	httpSrv   *httpserve.Server
	comps     []Component
	ready     atomic.Bool
	stopOnce  sync.Once
	stopErr   error
	// stopGrace replaces the constant of that name when set (tests).
	stopGrace time.Duration
}

// Start brings omq up: NATS, streams, API, roles, then the HTTP listener.
// With a real API it checks the URL and key once (checkAPI), logging what
// is wrong without refusing to start. On error everything started so far
// is stopped again.
func Start(ctx context.Context, opts Options) (_ *System, err error) {
	cfg := opts.Config
	cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = logging.Discard()
	}
	selected, err := selectRoles(opts.Only)
	if err != nil {
		return nil, err
	}
	s := &System{opts: opts, log: log}
	s.deps = Deps{
		Config:   cfg,
		Logger:   log,
		Topology: cfg.Topology(),
		Metrics:  prometheus.NewRegistry(),
		Mux:      http.NewServeMux(),
		Store:    &natserr.Watch{},
	}
	s.deps.Topology.Memory = opts.MemoryStreams
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = s.Stop(stopCtx)
		}
	}()
	if err := s.startNATS(ctx); err != nil {
		return nil, err
	}
	js, err := jetstream.New(s.deps.Conn)
	if err != nil {
		return nil, err
	}
	s.deps.JS = js
	if err := broker.WaitJetStream(ctx, s.deps.Conn); err != nil {
		return nil, err
	}
	if _, err := streams.Apply(ctx, js, s.deps.Topology, log.With(logging.KeyComponent, "streams")); err != nil {
		return nil, s.provisionError(err)
	}
	// Listen before the sandbox starts: it sends its webhooks to this address.
	if err := s.listenHTTP(ctx); err != nil {
		return nil, err
	}
	if s.api, err = startAPI(ctx, &s.deps, s.webhookSandbox(opts.Sandbox)); err != nil {
		return nil, err
	}
	s.deps.API, s.deps.APIConfig = s.api.client, s.api.config
	// The sandbox's URL and key are omq's own; ingest and the mover never
	// call the API, so omq run --only ingest spends no call on a check.
	if !cfg.Sandbox() && slices.ContainsFunc(selected, func(r Role) bool { return r.CallsAPI }) {
		checkCtx, cancel := context.WithTimeout(ctx, startCheckTimeout)
		checkAPI(checkCtx, log, s.api.client, cfg.OpenMooveURL, cfg.OpenMooveAPIKey)
		cancel()
	}
	registerMetrics(s.deps.Metrics, s.deps.Conn, js, s.deps.Topology, s.api.client)
	s.routes()
	if err := s.startConsole(ctx); err != nil {
		return nil, err
	}
	for _, r := range selected {
		comps, err := r.New(ctx, &s.deps)
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", r.Name, err)
		}
		for _, c := range comps {
			if err := c.Start(ctx); err != nil {
				return nil, fmt.Errorf("role %s: start %s: %w", r.Name, c.Name(), err)
			}
			s.comps = append(s.comps, c)
		}
	}
	go s.serveHTTP()
	s.ready.Store(true)
	return s, nil
}

func selectRoles(only []string) ([]Role, error) {
	if len(only) == 0 {
		return roles, nil
	}
	var out []Role
	for _, name := range only {
		i := slices.IndexFunc(roles, func(r Role) bool { return r.Name == name })
		if i < 0 {
			names := make([]string, len(roles))
			for j, r := range roles {
				names[j] = r.Name
			}
			return nil, &config.FieldError{Flag: "only", Value: name, Accept: "one or more of " + strings.Join(names, ", ")}
		}
		out = append(out, roles[i])
	}
	return out, nil
}

func (s *System) startNATS(ctx context.Context) error {
	cfg := s.deps.Config
	if cfg.EmbeddedNATS() {
		creds, err := s.embeddedCredentials()
		if err != nil {
			return err
		}
		e, err := broker.StartEmbedded(broker.EmbeddedOptions{
			StoreDir:    filepath.Join(cfg.DataDir, "jetstream"),
			Listen:      cfg.NATSListen,
			Logger:      s.log.With(logging.KeyComponent, "nats-server"),
			Credentials: creds,
			MaxStore:    s.opts.EmbeddedMaxStore,
		})
		if err != nil {
			return err
		}
		s.embedded = e
		nc, err := e.Connect("omq")
		if err != nil {
			return fmt.Errorf("connect to embedded NATS: %w", err)
		}
		s.deps.Conn = nc
		return nil
	}
	nc, err := broker.ConnectExternal(NATSOptions(cfg, cfg.NATSURL, "omq", s.log.With(logging.KeyComponent, "nats")))
	if err != nil {
		return err
	}
	s.deps.Conn = nc
	return nil
}

// embeddedCredentials are --nats-user/--nats-password when set, else the
// password generated once in the data dir, where omq's commands find it.
func (s *System) embeddedCredentials() (broker.Credentials, error) {
	cfg := s.deps.Config
	if cfg.NATSUser != "" {
		return broker.Credentials{User: cfg.NATSUser, Password: cfg.NATSPassword}, nil
	}
	c, err := broker.EnsurePassword(cfg.DataDir, s.log.With(logging.KeyComponent, "nats-server"))
	if err != nil {
		return c, err
	}
	s.credsFile = broker.PasswordPath(cfg.DataDir)
	return c, nil
}

func (s *System) listenHTTP(ctx context.Context) error {
	cfg := s.deps.Config
	if strings.EqualFold(cfg.HTTP, "off") {
		return nil
	}
	opts := httpserve.Options{Addr: cfg.HTTP, Handler: s.deps.Mux, Limits: HTTPLimits(cfg),
		Logger: s.log.With(logging.KeyComponent, "http")}
	if cfg.HTTPTLSCert != "" {
		tc, err := httpserve.LoadTLS(cfg.HTTPTLSCert, cfg.HTTPTLSKey)
		if err != nil {
			return fmt.Errorf("%w; check --http-tls-cert and --http-tls-key", err)
		}
		opts.TLS = tc
	}
	srv, err := httpserve.Listen(ctx, opts)
	if err != nil {
		return fmt.Errorf("HTTP listener on %s: %w; set --http to a free address or off", cfg.HTTP, err)
	}
	s.httpSrv = srv
	return nil
}

// HTTPLimits are the limits of the HTTP listener as the settings give them.
func HTTPLimits(c config.Config) httpserve.Limits {
	return httpserve.Limits{ReadTimeout: c.HTTPReadTimeout, WriteTimeout: c.HTTPWriteTimeout,
		IdleTimeout: c.HTTPIdleTimeout, MaxConns: c.HTTPMaxConns}.WithDefaults()
}

func (s *System) serveHTTP() {
	if s.httpSrv == nil {
		return
	}
	if err := s.httpSrv.Serve(); err != nil {
		s.log.Error("HTTP listener stopped", logging.KeyError, err)
	}
}

// HTTPAddr is the address the HTTP listener is bound to, or "" when off.
func (s *System) HTTPAddr() string {
	if s.httpSrv == nil {
		return ""
	}
	return s.httpSrv.Addr()
}

// HTTPScheme is "https" when --http-tls-cert is set, else "http".
func (s *System) HTTPScheme() string {
	if s.httpSrv != nil && s.httpSrv.TLS() {
		return "https"
	}
	return "http"
}

// NATSURL is the URL other processes use to reach omq's NATS: the embedded
// server's client address, or --nats-url.
func (s *System) NATSURL() string {
	if s.embedded != nil {
		return s.embedded.ClientURL()
	}
	return s.deps.Config.NATSURL
}

// NATSCredentials are the user and password the embedded server requires
// of every client; ok is false with an external server.
func (s *System) NATSCredentials() (user, password string, ok bool) {
	if s.embedded == nil {
		return "", "", false
	}
	c := s.embedded.Credentials()
	return c.User, c.Password, true
}

// NATSCredentialsFile is the file holding the generated password of the
// embedded server, or "" when --nats-user was given or NATS is external.
func (s *System) NATSCredentialsFile() string { return s.credsFile }

// SandboxURL is the in-process sandbox's partner API base URL, or "" when omq
// talks to a real API.
func (s *System) SandboxURL() string { return s.api.sandboxURL() }

// Deps exposes what the roles were built with, for tests and commands.
func (s *System) Deps() *Deps { return &s.deps }

// Ready reports whether every part has started.
func (s *System) Ready() bool { return s.ready.Load() }

// Stop shuts omq down in order: HTTP, roles, NATS connection drain, the
// sandbox, the embedded server. Each step runs even when an earlier one
// failed or ctx has ended. It returns every error met, joined: a component
// that did not stop within ctx is named, with what it left running (see
// workers.Component); calling it again returns the same result.
func (s *System) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *System) stop(ctx context.Context) error {
	s.ready.Store(false)
	var errs []error
	step := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("shutdown %s: %w", name, err))
		}
		s.log.Debug("shutdown step done", "step", name)
		if s.opts.OnStep != nil {
			s.opts.OnStep(name)
		}
	}
	if s.httpSrv != nil {
		// Shutdown also frees the port of a start that failed before serving.
		step("http", s.httpSrv.Shutdown(ctx))
	}
	var roleErrs []error
	for i := len(s.comps) - 1; i >= 0; i-- {
		roleErrs = append(roleErrs, s.stopComponent(ctx, s.comps[i]))
	}
	step("roles", errors.Join(roleErrs...))
	if nc := s.deps.Conn; nc != nil {
		step("nats-drain", drain(ctx, nc))
	}
	if s.api != nil {
		step("sandbox", s.api.close(ctx))
	}
	if s.embedded != nil {
		step("nats-server", s.embedded.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// stopGrace is how long shutdown waits, past its deadline, for a
// component's Stop to return: enough for one that honours its context to
// clean up (a worker gives its cancelled handlers a second), short enough
// that one ignoring it cannot hold the rest of the shutdown.
const stopGrace = 2 * time.Second

// stopComponent stops c. Its Stop's error names it (the role contract); if
// Stop has not returned stopGrace after ctx ended, c is left running and
// named in the error, so the rest of the shutdown goes on.
func (s *System) stopComponent(ctx context.Context, c Component) error {
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(ctx) }()
	select {
	case err := <-stopped:
		return err
	case <-ctx.Done():
	}
	grace := s.stopGrace
	if grace == 0 {
		grace = stopGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-stopped:
		return err
	case <-t.C:
		return fmt.Errorf("%s: Stop still running %s past the shutdown deadline, left behind: %w", c.Name(), grace, ctx.Err())
	}
}

// drain flushes every pending publish and ack, then closes nc.
func drain(ctx context.Context, nc *nats.Conn) error {
	if nc.IsClosed() {
		return nil
	}
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		if errors.Is(err, nats.ErrConnectionReconnecting) {
			// Nothing can be flushed to a server we cannot reach; what it
			// acknowledged is already stored, the rest was never promised.
			return nil
		}
		return err
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		nc.Close()
		return ctx.Err()
	}
}
