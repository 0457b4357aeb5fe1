package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/imports"
	"github.com/openmoove/omq/streams"
)

func newImportStatusCmd(e *Env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status FILE",
		Short: "Show where each row of an imported file stands",
		Long: `Read FILE as omq import does (same request_ids) and report each row:
created (with the transaction id), failed (with the reason, from the
ledger or the dead-letter queue), pending (queued or being created, not
created yet), not queued (valid, but no creation of it is queued: import
the file again), or invalid (never queued). A summary line ends the report.`,
		Example: `  omq import status instructions.csv
  omq import status migration.jsonl --nats-url nats://nats-1:4222`,
		Args: cobra.ExactArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupProperties)
	cmd.Flags().StringVar(&format, "format", "auto", "file format: auto, csv or jsonl")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		_, rows, err := imports.Load(cfg, args[0], format)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq import status")
		if err != nil {
			return err
		}
		defer nc.Close()
		return importStatus(ctx, e, js, cfg.Topology(), rows)
	}
	return cmd
}

func importStatus(ctx context.Context, e *Env, js jetstream.JetStream, top streams.Topology, rows []imports.Row) error {
	check, err := imports.NewChecker(ctx, js, top, e.natsTimeout())
	if err != nil {
		return err
	}
	counts := map[string]int{}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tSTATUS\tREQUEST ID\tDETAIL")
	for _, r := range rows {
		rs, err := check.Status(ctx, r.Ref())
		if err != nil {
			return err
		}
		counts[rs.Status]++
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", rs.Line, rs.Status, rs.RequestID, rs.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "created %d, failed %d, pending %d, not queued %d, invalid %d\n", counts[imports.StatusCreated], counts[imports.StatusFailed], counts[imports.StatusPending], counts[imports.StatusNotQueued], counts[imports.StatusInvalid])
	return nil
}
