package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/system"
)

func newRunCmd(e *Env) *cobra.Command {
	var only []string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run omq: NATS (embedded unless --nats-url), streams, workers, HTTP",
		Long: `Run every role of omq in one process, or the roles named by --only.

With no --nats-url, omq starts an embedded NATS server with its file store
under --data-dir, reachable by other processes on --nats-listen with user
omq and the password generated in --data-dir/nats-password (or with
--nats-user and OMQ_NATS_PASSWORD_FILE, required for a non-loopback
--nats-listen). With no
--openmoove-url, omq starts the local OpenMoove sandbox and no real API is
called. The first SIGINT or SIGTERM starts a graceful shutdown bounded by
--shutdown-timeout; a second one forces the process to exit.

Roles (--only takes their names, comma-separated):
` + rolesHelp(),
		Example: `  omq run
  omq run --data-dir /var/lib/omq --http 0.0.0.0:8080 --log-format json
  OMQ_OPENMOOVE_API_KEY_FILE=/run/secrets/om omq run --openmoove-url https://api.openmoove.com/api/v1/partners/
  omq run --nats-url nats://nats-1:4222,nats://nats-2:4222 --only properties`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.AllGroups()...)
	cmd.Flags().StringSliceVar(&only, "only", nil, "start only these roles (comma-separated): "+strings.Join(roleNames(), ", "))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		log, err := logging.New(e.Stderr, cfg.LogLevel, cfg.LogFormat)
		if err != nil {
			return usage(err)
		}
		ctx, cancel := context.WithCancel(cmd.Context())
		defer cancel()
		stopSignals := e.onSignals(cancel, log)
		defer stopSignals()

		sys, err := system.Start(ctx, system.Options{Config: *cfg, Logger: log, Only: only})
		if err != nil {
			return err
		}
		attrs := []any{"http", sys.HTTPAddr(), "nats", config.RedactURL(sys.NATSURL())}
		if f := sys.NATSCredentialsFile(); f != "" && sys.NATSURL() != "" {
			attrs = append(attrs, "nats_user", broker.DefaultUser, "nats_password_file", f)
		}
		if u := sys.SandboxURL(); u != "" {
			attrs = append(attrs, "sandbox", u)
		}
		log.Info("omq ready", attrs...)
		<-ctx.Done()
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
		stopCtx, stopCancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer stopCancel()
		if err := sys.Stop(stopCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		log.Info("stopped cleanly")
		return nil
	}
	return cmd
}

// rolesHelp lists the roles omq run can start, one per line with what it
// does, from the one table that defines them.
func rolesHelp() string {
	roles := system.Roles()
	width := 0
	for _, r := range roles {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	for _, r := range roles {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.Name, r.Description)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func roleNames() []string {
	var out []string
	for _, r := range system.Roles() {
		out = append(out, r.Name)
	}
	return out
}

// onSignals cancels on the first SIGINT/SIGTERM and exits with status 1 on
// the second. The returned func stops listening.
func (e *Env) onSignals(cancel context.CancelFunc, log interface{ Warn(string, ...any) }) func() {
	sigs := e.Signals
	var osSigs chan os.Signal
	if sigs == nil {
		osSigs = make(chan os.Signal, 2)
		signal.Notify(osSigs, syscall.SIGINT, syscall.SIGTERM)
		sigs = osSigs
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			log.Warn("second signal: forcing exit")
			e.Exit(1)
		case <-done:
		}
	}()
	return func() {
		close(done)
		if osSigs != nil {
			signal.Stop(osSigs)
		}
	}
}
