package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/poller"
)

func newTrackCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "track TXID...",
		Short: "Have the poller follow OpenMoove properties omq did not create",
		Long: `Add properties, by transaction UUID (the transactionId of the API), to the
ones the poller follows. omq already tracks every property it created and
every property a property.created webhook announced; track the others.
The first poll records the property's state and announces nothing; later
polls publish what changes (status_changed, participant_changed,
milestone_added, milestone_completed, milestone_reopened) to the outcomes
stream, and omq report includes it. Tracking one twice changes nothing.`,
		Example: `  omq track 3f2b8c1e-5d4a-4b7e-9c1f-2a6d8e0b4c3a
  omq track $(cat transactions.txt)
  omq untrack 3f2b8c1e-5d4a-4b7e-9c1f-2a6d8e0b4c3a`,
		Args: cobra.MinimumNArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return trackRun(cmd, e, cfg, args, func(ctx context.Context, s *poller.Store, tx string) (string, error) {
			added, err := s.Track(ctx, tx, 0, poller.SourceCLI, time.Now())
			if err != nil || added {
				return "tracking", err
			}
			return "already tracked", nil
		})
	}
	return cmd
}

func newUntrackCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "untrack TXID...",
		Short: "Stop polling OpenMoove properties",
		Long: `Remove properties, by transaction UUID, from the ones the poller follows,
with their snapshots. A property omq creates again, or a later webhook
announces, is tracked again.`,
		Example: `  omq untrack 3f2b8c1e-5d4a-4b7e-9c1f-2a6d8e0b4c3a`,
		Args:    cobra.MinimumNArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return trackRun(cmd, e, cfg, args, func(ctx context.Context, s *poller.Store, tx string) (string, error) {
			err := s.Untrack(ctx, tx)
			if errors.Is(err, poller.ErrNotTracked) {
				return "was not tracked", nil
			}
			return "untracked", err
		})
	}
	return cmd
}

func trackRun(cmd *cobra.Command, e *Env, cfg *config.Config, args []string, do func(context.Context, *poller.Store, string) (string, error)) error {
	if err := e.loadConfig(cmd, cfg); err != nil {
		return err
	}
	for _, tx := range args {
		if err := poller.ValidTransaction(tx); err != nil {
			return usageErrorf("%q is not a transaction UUID; pass the transactionId the API returned, such as 3f2b8c1e-5d4a-4b7e-9c1f-2a6d8e0b4c3a", tx)
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	nc, js, err := connect(ctx, cfg, "omq "+cmd.Name())
	if err != nil {
		return err
	}
	defer nc.Close()
	store, err := poller.OpenStore(ctx, js, cfg.Topology())
	if err != nil {
		return err
	}
	for _, tx := range args {
		what, err := do(ctx, store, tx)
		if err != nil {
			return fmt.Errorf("%s: %w", tx, err)
		}
		fmt.Fprintf(e.Stdout, "%s %s\n", tx, what)
	}
	return nil
}
