package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/audit"
)

func newAuditCmd(e *Env) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail: who did what in the console and with omq, newest first",
		Long: `Show the operator actions taken in the console, and with omq breaker
probe|resume, omq import and omq dlq replay|edit|purge (who:
cli:<OS user>), newest first: when, who
(and their role), what, on what, the filter of a bulk action, how many
messages it touched, and the result. --json adds the diff of an edit.
The trail is the AUDIT stream, kept a year.`,
		Example: `  omq audit
  omq audit --limit 500 --json | jq 'select(.kind == "dlq.replay")'`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 50, "most entries to show")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		if limit < 1 {
			return usageErrorf("invalid --limit %d: want 1 or more", limit)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq audit")
		if err != nil {
			return err
		}
		defer nc.Close()
		es, err := audit.Recent(ctx, js, cfg.Topology(), limit, 0)
		if err != nil {
			return err
		}
		if asJSON {
			for _, en := range es {
				if err := printJSONLine(e, en); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tWHO\tROLE\tACTION\tON\tFILTER\tCOUNT\tRESULT")
		for _, en := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", en.At.UTC().Format(time.RFC3339), en.User, en.Role, en.Kind,
				orDash(en.Target), orDash(en.Filter), en.Count, en.Result)
		}
		if len(es) == 0 {
			fmt.Fprintln(tw, "(no action yet)\t\t\t\t\t\t\t")
		}
		return tw.Flush()
	}
	return cmd
}

// printJSONLine is one JSON object a line (jq reads a stream of them),
// with <, > and & as written.
func printJSONLine(e *Env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
