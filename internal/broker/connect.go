package broker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// ExternalOptions say how to reach and authenticate to an external server.
type ExternalOptions struct {
	URL       string // one URL or several, comma-separated
	Name      string // connection name shown by the server
	CredsFile string
	NKeyFile  string
	User      string
	Password  string
	Token     string
	TLSCA     string
	TLSCert   string
	TLSKey    string
	Logger    *slog.Logger
}

// ConnectExternal connects to an external NATS server with reconnects
// forever: a NATS outage must cost time, not messages.
func ConnectExternal(o ExternalOptions) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(false),
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.NKeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("broker: --nats-nkey %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.Logger != nil {
		l := o.Logger
		opts = append(opts,
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { l.Warn("NATS disconnected", "error", err) }),
			nats.ReconnectHandler(func(nc *nats.Conn) { l.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted()) }),
			asyncErrors(l),
		)
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		// nats errors never include the password or token.
		return nil, fmt.Errorf("broker: connect to NATS: %w; check --nats-url and that the server is running", err)
	}
	return nc, nil
}

// asyncErrors sends the client's asynchronous errors (a watcher's consumer
// gone at shutdown, a slow consumer) to the log; without it nats.go writes
// them to stderr.
func asyncErrors(l *slog.Logger) nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		if sub != nil {
			l.Warn("NATS asynchronous error", "subject", sub.Subject, "error", err)
			return
		}
		l.Warn("NATS asynchronous error", "error", err)
	})
}
