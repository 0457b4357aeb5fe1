package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/status"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/workers"
)

// probeTimeout bounds omq breaker's probe, as the worker's own probe is
// bounded: one cheap call, not a wait for the API to come back.
const probeTimeout = 10 * time.Second

func newBreakerCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breaker",
		Short: "Show each worker's breaker, probe the API now, resume paused workers now",
		Long: `When a worker meets --breaker-transient failures in a row (or one 401), its
breaker opens: its consumer is paused for every replica for --pause-min
(15s), and every other worker pauses with it (they call the same API). The
replica that opened it probes the API with one cheap call (GET /products/)
every 10s and shortly before the pause ends. The first good probe resumes
every worker; a failed one at the end pauses again for twice as long, up to
--pause-max (5m).

status shows each breaker; probe makes that probe call now (within the
shared API budget); resume probes and, when the API answers, resumes the
paused workers at once for every replica.`,
		Example: `  omq breaker status
  omq breaker probe
  omq breaker resume             # every paused worker
  omq breaker resume milestones`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBreakerStatusCmd(e), newBreakerProbeCmd(e), newBreakerResumeCmd(e))
	return cmd
}

func newBreakerStatusCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each worker's breaker: state, reason, paused until, next probe",
		Args:  cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupWorkers)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := readStatusFor(e, cmd, cfg, "omq breaker status")
		if err != nil {
			return err
		}
		rows := st.BreakerRows()
		if asJSON {
			return printJSON(e.Stdout, rows)
		}
		printBreakerRows(e.Stdout, rows)
		return nil
	}
	return cmd
}

func newBreakerProbeCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Make the breaker's probe call (GET /products/) now and say whether the API answers",
		Long: `Make the one call the breaker probes with (GET /products/), now, through the
shared API budget, with --openmoove-url and its key (or the sandbox omq run
started at --sandbox-addr), and say whether the API answers. It changes
nothing; exit status 1 when the probe fails.`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupAPI, config.GroupWorkers)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq breaker probe")
		if err != nil {
			return err
		}
		defer nc.Close()
		err = probe(ctx, e.Stdout, js, cfg)
		auditCLI(ctx, e, js, cfg, audit.Entry{Kind: "breaker.probe", Target: "the API"}, err)
		return err
	}
	return cmd
}

func newBreakerResumeCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume [WORKER...]",
		Short: "Probe the API and, when it answers, resume the paused workers now",
		Long: `Probe the API as the breaker does; when it answers, close each named worker's
breaker (every paused one when none is named) in the BREAKER bucket, so
every replica agrees, and resume its consumer now instead of at the end of
its pause. When the probe fails nothing changes and the exit status is 1.

Messages a worker handed back when its breaker opened return when their own
delay ends (at most the pause); everything queued behind them flows at once.`,
		Example: `  omq breaker resume
  omq breaker resume milestones properties`,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupAPI, config.GroupWorkers)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq breaker resume")
		if err != nil {
			return err
		}
		defer nc.Close()
		st, err := status.Read(ctx, js, statusOptions(cfg))
		if err != nil {
			return err
		}
		targets, err := resumeTargets(st, args)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			fmt.Fprintln(e.Stdout, "nothing to resume: no worker is paused and every breaker is closed")
			return nil
		}
		err = probeAndResume(ctx, e, js, cfg, targets)
		auditCLI(ctx, e, js, cfg, audit.Entry{Kind: "breaker.resume", Target: workerNames(targets), Count: len(targets)}, err)
		return err
	}
	return cmd
}

func probeAndResume(ctx context.Context, e *Env, js jetstream.JetStream, cfg *config.Config, targets []status.BreakerRow) error {
	if err := probe(ctx, e.Stdout, js, cfg); err != nil {
		return fmt.Errorf("not resumed, %w (nothing changed: the breaker probes again by itself at the end of each pause; run this again once the API answers)", err)
	}
	return resume(ctx, e.Stdout, js, cfg, targets)
}

func workerNames(rows []status.BreakerRow) string {
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Worker
	}
	return strings.Join(names, ", ")
}

func readStatusFor(e *Env, cmd *cobra.Command, cfg *config.Config, name string) (*status.Status, error) {
	if err := e.loadConfig(cmd, cfg); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	nc, js, err := connect(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	return status.Read(ctx, js, statusOptions(cfg))
}

func printBreakerRows(w io.Writer, rows []status.BreakerRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tBREAKER\tPAUSED UNTIL\tNEXT PROBE\tPAUSE\tREASON")
	for _, r := range rows {
		paused := "-"
		if r.PausedUntil != nil {
			paused = clock(*r.PausedUntil)
		}
		pause, reason := "-", "-"
		if r.Open {
			pause, reason = (time.Duration(r.PauseSeconds) * time.Second).String(), r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Worker, r.State, paused, clock(r.NextProbe), pause, reason)
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no workers yet)\t\t\t\t\t")
	}
	tw.Flush()
}

// resumeTargets are the named workers, or every paused one.
func resumeTargets(st *status.Status, names []string) ([]status.BreakerRow, error) {
	rows := st.BreakerRows()
	if len(names) == 0 {
		var out []status.BreakerRow
		for _, r := range rows {
			if r.Open || r.PausedUntil != nil {
				out = append(out, r)
			}
		}
		return out, nil
	}
	var out []status.BreakerRow
	for _, n := range names {
		i := slices.IndexFunc(rows, func(r status.BreakerRow) bool { return r.Worker == n })
		if i < 0 {
			known := make([]string, len(rows))
			for j, r := range rows {
				known[j] = r.Worker
			}
			return nil, usageErrorf("unknown worker %q: want one of %v (omq breaker status lists them)", n, known)
		}
		out = append(out, rows[i])
	}
	return out, nil
}

// probe makes the breaker's probe call through the shared budget.
func probe(ctx context.Context, w io.Writer, js jetstream.JetStream, cfg *config.Config) error {
	api, where, err := probeClient(ctx, js, cfg)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	if err := api.Probe(pctx); err != nil {
		return fmt.Errorf("the probe of %s failed: %w", where, err)
	}
	fmt.Fprintf(w, "probe ok: %s answers (GET /products/ in %s)\n", where, time.Since(start).Round(time.Millisecond))
	return nil
}

// probeClient is the client the workers use: --openmoove-url and its key,
// or the sandbox omq run serves at --sandbox-addr; every call takes a token
// of the shared budget.
func probeClient(ctx context.Context, js jetstream.JetStream, cfg *config.Config) (*openmoove.Client, string, error) {
	oc := openmoove.Config{BaseURL: cfg.OpenMooveURL, APIKey: cfg.OpenMooveAPIKey}
	if cfg.Sandbox() {
		oc = openmoove.Config{BaseURL: "http://" + cfg.SandboxAddr + sandbox.APIPrefix, APIKey: system.SandboxKey}
	}
	where := config.RedactURL(oc.BaseURL)
	b, err := budget.New(ctx, js, cfg.Topology(), budget.LimitsOf(cfg.BudgetPerHour, cfg.BudgetPerMinute, cfg.BudgetLanes))
	if err != nil {
		return nil, "", err
	}
	api, err := openmoove.New(b.Hooks(oc))
	if err != nil {
		return nil, "", fmt.Errorf("%w; check --openmoove-url and --openmoove-api-key", err)
	}
	return api, where, nil
}

func resume(ctx context.Context, w io.Writer, js jetstream.JetStream, cfg *config.Config, targets []status.BreakerRow) error {
	var errs []error
	for _, r := range targets {
		wasOpen, err := workers.CloseBreaker(ctx, js, cfg.Topology(), r.Worker, r.Stream)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", r.Worker, err))
		case wasOpen:
			fmt.Fprintf(w, "resumed %s: breaker closed for every replica, consuming now\n", r.Worker)
		default:
			fmt.Fprintf(w, "resumed %s: its breaker was closed; its consumer is no longer paused\n", r.Worker)
		}
	}
	return errors.Join(errs...)
}
