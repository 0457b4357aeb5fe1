package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configure an embedded server.
type EmbeddedOptions struct {
	// StoreDir is the JetStream file store directory. Required: an empty
	// StoreDir would make nats-server fall back to a shared temp dir.
	StoreDir string
	// Listen is the host:port for clients in other processes; "" or "off"
	// accepts in-process clients only. "127.0.0.1:0" picks a free port.
	Listen string
	// ServerName defaults to "omq".
	ServerName string
	// ReadyTimeout bounds the wait for the server to accept clients.
	// Default 10s.
	ReadyTimeout time.Duration
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
	// Cluster, when set, joins the server to a cluster (tests use it for a
	// three-node cluster in one process).
	Cluster *ClusterOptions
	// MaxStore caps the JetStream file store in bytes; 0 leaves
	// nats-server's default (75% of the disk's free space). Tests use a
	// small one to fill the store.
	MaxStore int64
	// Credentials are the only user and password the server accepts, from
	// every client, in process or not: a server without them would let
	// anyone who reaches the port purge streams. Empty generates a random
	// password for DefaultUser, held in memory only (tests); omq run passes
	// the ones of EnsurePassword or --nats-user/--nats-password.
	Credentials Credentials
}

// ClusterOptions join an embedded server to a cluster.
type ClusterOptions struct {
	Name   string   // cluster name, the same on every node
	Listen string   // this node's route address, host:port
	Routes []string // nats-route://host:port of every node
}

// Embedded is a running in-process nats-server.
type Embedded struct {
	srv   *server.Server
	log   *slog.Logger
	creds Credentials
}

// StartEmbedded starts a nats-server with JetStream and waits until it
// accepts clients.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("broker: embedded server needs a store directory")
	}
	if opts.ServerName == "" {
		opts.ServerName = "omq"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	creds, err := serverCredentials(opts.Credentials)
	if err != nil {
		return nil, err
	}
	sopts := &server.Options{
		ServerName: opts.ServerName,
		JetStream:  true,
		StoreDir:   filepath.Clean(opts.StoreDir),
		NoSigs:     true,
		Users:      []*server.User{{Username: creds.User, Password: creds.Password}},
		// omq sets MaxPayload on streams, not here; keep the server default.
		JetStreamMaxStore: opts.MaxStore,
	}
	if opts.Listen == "" || strings.EqualFold(opts.Listen, "off") {
		sopts.DontListen = true
	} else {
		host, port, err := splitHostPort(opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("broker: listen address %q: %w", opts.Listen, err)
		}
		sopts.Host, sopts.Port = host, port
	}
	if c := opts.Cluster; c != nil {
		host, port, err := splitHostPort(c.Listen)
		if err != nil {
			return nil, fmt.Errorf("broker: cluster address %q: %w", c.Listen, err)
		}
		sopts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port}
		sopts.Routes = server.RoutesFromStr(strings.Join(c.Routes, ","))
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("broker: embedded server: %w", err)
	}
	if opts.Logger != nil {
		srv.SetLoggerV2(&serverLogger{l: opts.Logger}, false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(opts.ReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		if sopts.DontListen {
			return nil, fmt.Errorf("broker: embedded server not ready within %s", opts.ReadyTimeout)
		}
		return nil, fmt.Errorf("broker: embedded server not ready within %s; is %s already in use? (set --nats-listen to another address or off)", opts.ReadyTimeout, opts.Listen)
	}
	return &Embedded{srv: srv, log: opts.Logger, creds: creds}, nil
}

func serverCredentials(c Credentials) (Credentials, error) {
	switch {
	case c.empty():
		return Credentials{User: DefaultUser, Password: randomPassword()}, nil
	case c.User == "" || c.Password == "":
		return Credentials{}, errors.New("broker: embedded server credentials need both a user and a password; set --nats-user and OMQ_NATS_PASSWORD_FILE, or neither to use generated ones")
	}
	return c, nil
}

// Server returns the underlying nats-server.
func (e *Embedded) Server() *server.Server { return e.srv }

// ClientURL is the nats:// URL other processes use, or "" when the server
// does not listen.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// StoreSpace is the JetStream file store's cap (max_store) and what is
// still free of it: neither used nor reserved by a stream's max bytes.
func (e *Embedded) StoreSpace() (limit, free int64, err error) {
	info, err := e.srv.Jsz(nil)
	if err != nil {
		return 0, 0, err
	}
	limit = info.Config.MaxStore
	return limit, max(limit-int64(info.Store)-int64(info.ReservedStore), 0), nil
}

// Credentials are the user and password every client must present.
func (e *Embedded) Credentials() Credentials { return e.creds }

// ClientOptions are the nats.go options a client in another goroutine or
// process needs besides ClientURL: the credentials.
func (e *Embedded) ClientOptions() []nats.Option { return e.creds.Options() }

// Connect opens an in-process connection to the embedded server.
func (e *Embedded) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name(name), nats.InProcessServer(e.srv), nats.MaxReconnects(-1), nats.UserInfo(e.creds.User, e.creds.Password)}, opts...)
	if e.log != nil {
		opts = append([]nats.Option{asyncErrors(e.log)}, opts...)
	}
	return nats.Connect("", opts...)
}

// Shutdown stops the server and waits until its store is closed, or ctx
// ends.
func (e *Embedded) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("broker: embedded server shutdown: %w", ctx.Err())
	}
}

// WaitJetStream waits until JetStream answers on nc (in a cluster, a meta
// leader exists), or ctx ends.
func WaitJetStream(ctx context.Context, nc *nats.Conn) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := nc.RequestWithContext(rctx, "$JS.API.INFO", nil)
		cancel()
		if err == nil && !strings.Contains(string(resp.Data), `"error"`) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: JetStream not available: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// serverLogger forwards nats-server's log to slog; the caller's logger
// names the component. Notices are debug: the server is chatty at start and
// omq logs what matters itself. A refused client is a warning, not an
// error of omq's: anyone who reaches the port can cause one.
type serverLogger struct{ l *slog.Logger }

func (s *serverLogger) Noticef(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s *serverLogger) Warnf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s *serverLogger) Fatalf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s *serverLogger) Errorf(f string, v ...any) {
	msg := fmt.Sprintf(f, v...)
	if strings.Contains(msg, "authentication error") {
		s.l.Warn(msg)
		return
	}
	s.l.Error(msg)
}
func (s *serverLogger) Debugf(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s *serverLogger) Tracef(string, ...any)     {}
