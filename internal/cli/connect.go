package cli

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/config"
)

// connect reaches the NATS of a running omq: --nats-url, else the embedded
// server's --nats-listen address.
func connect(ctx context.Context, c *config.Config, name string) (*nats.Conn, jetstream.JetStream, error) {
	url := c.ClientNATSURL()
	if url == "" {
		return nil, nil, usageErrorf("no NATS to reach: --nats-listen is off and --nats-url is empty; set --nats-url")
	}
	nc, err := broker.ConnectExternal(broker.ExternalOptions{
		URL: url, Name: name, CredsFile: c.NATSCreds, NKeyFile: c.NATSNKey,
		User: c.NATSUser, Password: c.NATSPassword, Token: c.NATSToken,
		TLSCA: c.NATSTLSCA, TLSCert: c.NATSTLSCert, TLSKey: c.NATSTLSKey,
	})
	if err != nil {
		if c.EmbeddedNATS() {
			return nil, nil, fmt.Errorf("cannot reach omq's NATS at %s: is omq run running? (or set --nats-url)", url)
		}
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
