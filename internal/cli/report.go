package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
)

func newReportCmd(e *Env) *cobra.Command {
	var asJSON bool
	var at string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Show the portfolio: per property completion, current milestone, overdue and at-risk counts",
		Long: `Show every property omq tracks (created by omq, announced by a webhook, or
added with omq track): how many of its milestones are complete, its current
milestone and when it is due, how many are overdue and how many at risk
(open and due within --at-risk-within), then the totals on track, at risk
and overdue.

The report reads the snapshots the poller keeps (no API call), so it is as
fresh as the last poll (--poll-interval and friends). Due dates are
judged by OpenMoove's clock, as the monitor's alerts are: now plus the
offset of the API's clock the poller measured at its latest poll (the Date
of the API's answers, which in sandbox mode follows the sandbox's clock).
--at evaluates them at another time instead.`,
		Example: `  omq report
  omq report --json | jq '.properties[] | select(.state == "overdue")'
  omq report --at-risk-within 72h
  omq report --at 2025-06-01T09:00:00Z`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupRisk)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().StringVar(&at, "at", "", "evaluate due dates at this RFC 3339 time instead of now")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		now := time.Now()
		if at != "" {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return usageErrorf("invalid --at %q: want an RFC 3339 time such as 2025-06-01T09:00:00Z", at)
			}
			now = t
		}
		if cfg.AtRiskWithin <= 0 {
			return usageErrorf("invalid --at-risk-within %s: want a positive duration such as 48h", cfg.AtRiskWithin)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq report")
		if err != nil {
			return err
		}
		defer nc.Close()
		store, err := poller.OpenStore(ctx, js, cfg.Topology())
		if err != nil {
			return err
		}
		all, err := store.List(ctx)
		if err != nil {
			return err
		}
		if at == "" {
			now = monitor.APINow(all, now)
		}
		rep := monitor.Portfolio(all, now, cfg.AtRiskWithin)
		if asJSON {
			return printJSON(e.Stdout, rep)
		}
		return rep.WriteTable(e.Stdout)
	}
	return cmd
}
