package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/system"
)

func newConsoleCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve the operator console alone, against a running omq",
		Long: `Serve the operator console (the pages omq run serves under /console/) on
--http, against the NATS of a running omq: --nats-url, or the embedded
server at --nats-listen with the password in --data-dir.

Log in with a user of --console-users (lines written by omq console adduser)
or with --console-token. Without either the console is read-only, and it
refuses to start on an address other than loopback. A viewer reads every
page; an operator also acts (probe a breaker, replay, edit and purge dead
letters), and every action is written to the audit trail (omq audit).

"probe now" calls the API of --openmoove-url with its key, or the sandbox of
omq run at --sandbox-addr, through the shared budget.`,
		Example: `  omq console --http 127.0.0.1:8081
  omq console --nats-url nats://nats-1:4222 --http 0.0.0.0:8443 \
    --http-tls-cert cert.pem --http-tls-key key.pem --console-users /etc/omq/console-users
  omq console adduser alice --role operator < alice.pass >> /etc/omq/console-users`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupServer, config.GroupAPI,
		config.GroupWorkers, config.GroupLayout, config.GroupRisk, config.GroupLog)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		return serveConsole(cmd.Context(), e, cfg)
	}
	cmd.AddCommand(newConsoleAddUserCmd(e))
	return cmd
}

func serveConsole(ctx context.Context, e *Env, cfg *config.Config) error {
	log, err := logging.New(e.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return usage(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := e.onSignals(cancel, log)
	defer stopSignals()
	nc, js, err := connect(ctx, cfg, "omq console")
	if err != nil {
		return err
	}
	defer nc.Close()
	opts := httpserve.Options{Addr: cfg.HTTP, Limits: system.HTTPLimits(*cfg), Logger: log.With(logging.KeyComponent, "http")}
	if cfg.HTTPTLSCert != "" {
		if opts.TLS, err = httpserve.LoadTLS(cfg.HTTPTLSCert, cfg.HTTPTLSKey); err != nil {
			return fmt.Errorf("%w; check --http-tls-cert and --http-tls-key", err)
		}
	}
	c, err := console.New(ctx, console.Options{JS: js, Topology: cfg.Topology(), Config: *cfg, Logger: log,
		Addr: cfg.HTTP, TLS: opts.TLS != nil, Probe: func(ctx context.Context) (string, error) {
			api, where, err := probeClient(ctx, js, cfg)
			if err != nil {
				return where, err
			}
			return where, api.Probe(ctx)
		}})
	if err != nil {
		return err
	}
	opts.Handler = c
	srv, err := httpserve.Listen(ctx, opts)
	if err != nil {
		return fmt.Errorf("console listener on %s: %w; set --http to a free address", cfg.HTTP, err)
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("console listener stopped", logging.KeyError, err)
			cancel()
		}
	}()
	scheme := "http"
	if srv.TLS() {
		scheme = "https"
	}
	log.Info("console ready", "url", scheme+"://"+srv.Addr()+console.Prefix, "nats", config.RedactURL(cfg.ClientNATSURL()))
	<-ctx.Done()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	return errors.Join(srv.Shutdown(stopCtx), c.Stop(stopCtx))
}

func newConsoleAddUserCmd(e *Env) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "adduser NAME",
		Short: "Print a users-file line for a new console user, the password read from standard input",
		Long: `Read a password (at least 12 characters; the first line of standard
input) and print the line of a console users file for NAME: NAME:ROLE:hash,
the hash bcrypt's (cost 12). Append it to the file --console-users names; a
running console reads the file when it starts.

Roles: viewer reads every page; operator also acts (probe now, replay, edit,
purge), every action recorded in the audit trail.`,
		Example: `  omq console adduser alice --role operator >> console-users   # type the password, then Enter
  printf '%s\n' "$PASSWORD" | omq console adduser bob --role viewer >> console-users`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&role, "role", string(console.Viewer), "viewer or operator")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if role != string(console.Viewer) && role != string(console.Operator) {
			return usageErrorf("invalid --role %q: want viewer or operator", role)
		}
		sc := bufio.NewScanner(e.Stdin)
		if !sc.Scan() {
			return usageErrorf("no password on standard input: type it and press Enter, or pipe it in (printf '%%s\\n' \"$PASSWORD\" | omq console adduser %s)", args[0])
		}
		line, err := console.UserLine(args[0], console.Role(role), []byte(strings.TrimRight(sc.Text(), "\r")), console.BcryptCost)
		if err != nil {
			return usage(err)
		}
		_, err = fmt.Fprintln(e.Stdout, line)
		return err
	}
	return cmd
}
