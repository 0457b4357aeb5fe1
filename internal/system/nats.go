package system

import (
	"log/slog"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
)

// NATSOptions is how omq reaches an external NATS with its settings: url
// (the --nats-url of omq run; a command may reach the embedded server's
// listen address instead), the connection name, and every --nats-*
// credential and TLS file. log may be nil. omq run and every command use
// it, so a setting cannot reach the one and not the other.
//
// It lives here, not in broker: config imports the workers, whose tests
// start NATS through broker.
func NATSOptions(c config.Config, url, name string, log *slog.Logger) broker.ExternalOptions {
	return broker.ExternalOptions{
		URL: url, Name: name, CredsFile: c.NATSCreds, NKeyFile: c.NATSNKey,
		User: c.NATSUser, Password: c.NATSPassword, Token: c.NATSToken,
		TLSCA: c.NATSTLSCA, TLSCert: c.NATSTLSCert, TLSKey: c.NATSTLSKey,
		Logger: log,
	}
}
