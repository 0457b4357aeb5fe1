package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of Limits. They suit omq's routes: webhooks of a few KB, ingest
// bodies up to --ingest-max-bytes (1 MiB) that wait up to 5 s for
// JetStream's ack, /metrics scraped every 15–60 s, /healthz probes.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers, so a
	// client that opens a connection and sends nothing is dropped early.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included: a
	// 1 MiB ingest body needs under 10 s even at 1 Mbit/s, and a stalled
	// body frees its connection and buffer after this long.
	DefaultReadTimeout = 15 * time.Second
	// DefaultWriteTimeout runs from the end of the headers to the end of the
	// answer (Go's meaning), so it covers the body read, the 5 s wait for
	// JetStream's ack, and the answer: the read timeout plus that wait and
	// some room.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection with no request for
	// this long: longer than common scrape intervals (15–30 s), so
	// Prometheus keeps its connection, short enough that idle connections
	// do not pile up against the connection cap.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes caps request headers; omq's routes need a
	// bearer token or a signature, not Go's 1 MiB default.
	DefaultMaxHeaderBytes = 32 << 10
	// DefaultMaxConns caps open connections. An unauthenticated connection
	// costs at most its buffers and goroutine (~16 KiB) plus the webhook
	// body cap (64 KiB), so 512 of them stay near 40 MiB, and the process
	// stays well under the usual 1024 file descriptors with NATS beside it.
	DefaultMaxConns = 512
)

// Limits bound what one client can hold of a listener. Zero fields take
// the defaults above (WithDefaults).
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s,
	// or ReadTimeout when that is shorter.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	// Default 15s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no request for
	// this long. Default 60s.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's headers. Default 32 KiB.
	MaxHeaderBytes int
	// MaxConns caps open connections; past it new connections wait in the
	// kernel's accept queue until one closes. Default 512.
	MaxConns int
}

// WithDefaults returns l with every unset (or negative) field at its
// default.
func (l Limits) WithDefaults() Limits {
	orDefault(&l.ReadTimeout, DefaultReadTimeout)
	orDefault(&l.WriteTimeout, DefaultWriteTimeout)
	orDefault(&l.IdleTimeout, DefaultIdleTimeout)
	orDefault(&l.ReadHeaderTimeout, min(DefaultReadHeaderTimeout, l.ReadTimeout))
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	return l
}

func orDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Options configure Listen.
type Options struct {
	// Addr is the host:port to listen on ("127.0.0.1:0" picks a free port).
	Addr    string
	Handler http.Handler
	Limits  Limits
	// TLS, when set, makes the listener HTTPS only; LoadTLS builds it.
	TLS *tls.Config
	// BaseContext, when set, is the parent of every request's context.
	BaseContext context.Context
	// Logger receives the server's own errors (TLS handshakes, accept
	// errors) at debug: strangers cause most of them. Default: discard.
	Logger *slog.Logger
}

// Server is an http.Server bound to its listener, with Limits applied.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds opts.Addr and builds the server; Serve starts serving. The
// address is bound here, before Serve, so callers can hand it out first.
func Listen(ctx context.Context, opts Options) (*Server, error) {
	l := opts.Limits.WithDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           opts.Handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// HTTP/1.1 only, over TLS too: an HTTP/2 connection carries up to 250
	// requests at once, each holding a body up to its route's cap, which
	// would make MaxConns no bound on memory; omq's callers (OpenMoove's
	// webhooks, ingest, Prometheus) gain nothing from HTTP/2.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	if opts.BaseContext != nil {
		srv.BaseContext = func(net.Listener) context.Context { return opts.BaseContext }
	}
	if opts.TLS != nil {
		srv.TLSConfig = opts.TLS.Clone()
	}
	// LimitListener blocks Accept at the cap instead of refusing: a burst
	// past it waits in the kernel's queue and is served as others close,
	// and the cap costs nothing per connection.
	return &Server{srv: srv, ln: netutil.LimitListener(ln, l.MaxConns)}, nil
}

// Addr is the bound address, such as 127.0.0.1:41234.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// TLS reports whether the listener speaks HTTPS.
func (s *Server) TLS() bool { return s.srv.TLSConfig != nil }

// Serve serves until Shutdown or Close, then returns nil; any other return
// is the reason serving stopped.
func (s *Server) Serve() error {
	var err error
	if s.srv.TLSConfig != nil {
		err = s.srv.ServeTLS(s.ln, "", "") // certificates are in TLSConfig
	} else {
		err = s.srv.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, waits for requests in progress until ctx ends,
// and frees the port even when Serve never ran.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, s.closeListener())
}

// Close drops every connection at once and frees the port.
func (s *Server) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.closeListener())
}

func (s *Server) closeListener() error {
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// LoadTLS reads a PEM certificate (chain) and its key for an HTTPS
// listener, TLS 1.2 at least. The error names the files, never their
// contents; read the certificate again by restarting after a renewal.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
