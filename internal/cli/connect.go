package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/system"
)

// connect reaches the NATS of a running omq: --nats-url, else the embedded
// server's --nats-listen address with the credentials omq run generated in
// --data-dir (unless --nats-user is given).
func connect(ctx context.Context, c *config.Config, name string) (*nats.Conn, jetstream.JetStream, error) {
	url := c.ClientNATSURL()
	if url == "" {
		return nil, nil, usageErrorf("no NATS to reach: --nats-listen is off and --nats-url is empty; set --nats-url")
	}
	o := system.NATSOptions(*c, url, name, nil)
	if c.EmbeddedNATS() && o.User == "" {
		creds, err := broker.ReadPassword(c.DataDir)
		if err != nil {
			return nil, nil, missingCredentials(c, err)
		}
		o.User, o.Password = creds.User, creds.Password
	}
	nc, err := broker.ConnectExternal(o)
	if err != nil {
		if c.EmbeddedNATS() {
			return nil, nil, fmt.Errorf("cannot reach omq's NATS at %s: %w; is omq run running with this --data-dir (%s)? (or set --nats-url)", url, errors.Unwrap(err), c.DataDir)
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

func missingCredentials(c *config.Config, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no credentials for omq's NATS in %s: has omq run started with --data-dir %s? (run this command from the directory omq run runs in, set --data-dir, or set --nats-user and OMQ_NATS_PASSWORD_FILE)", broker.PasswordPath(c.DataDir), c.DataDir)
	}
	return err
}
