package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/workers/properties"
)

func newAssignmentsCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assignments",
		Short: "Show the professional assignment table and each professional's load",
		Long: `Show the assignment table of --assignments (rules in order, then the
default) and, from a running omq, each professional's load: omq's own
count of the open properties it created with them. The property worker
gives a creation that lacks a role the least loaded candidate of the first
matching rule (else of the default).`,
		Example: `  omq assignments --assignments assignments.yaml
  omq assignments --assignments assignments.yaml --nats-url nats://nats-1:4222`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupProperties)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		table, err := assign.Load(cfg.Assignments)
		if err != nil {
			return usage(err)
		}
		if table.Empty() {
			return usageErrorf("no assignment table: set --assignments to its YAML file (see omq assignments --help)")
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq assignments")
		if err != nil {
			return err
		}
		defer nc.Close()
		ledger, err := properties.OpenLedger(ctx, js, cfg.Topology())
		if err != nil {
			return err
		}
		loads, err := assign.NewAssigner(table, ledger.KV()).Loads(ctx)
		if err != nil {
			return err
		}
		return printAssignments(e.Stdout, table, loads)
	}
	return cmd
}

func printAssignments(w io.Writer, t *assign.Table, loads map[string]int64) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tAREAS\tSALE METHODS\tROLE\tCANDIDATES (LOAD)")
	row := func(name string, areas, methods []string, c assign.Candidates) {
		for _, r := range assign.Roles {
			list := c.For(r)
			if len(list) == 0 {
				continue
			}
			cands := make([]string, len(list))
			for i, email := range list {
				cands[i] = fmt.Sprintf("%s (%d)", email, loads[email])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, orAny(areas), orAny(methods), r, strings.Join(cands, ", "))
		}
	}
	for i, r := range t.Rules {
		row(fmt.Sprint(i+1), r.PostcodeAreas, r.SaleMethods, r.Candidates)
	}
	row("default", nil, nil, t.Default)
	return tw.Flush()
}

func orAny(s []string) string {
	if len(s) == 0 {
		return "any"
	}
	return strings.Join(s, ",")
}
