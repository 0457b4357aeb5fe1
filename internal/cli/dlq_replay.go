package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
)

func newDLQReplayCmd(e *Env) *cobra.Command {
	var (
		ff     dlqFilterFlags
		all    bool
		dryRun bool
		rate   float64
	)
	cmd := &cobra.Command{
		Use:   "replay ID... | --all [filters]",
		Short: "Publish dead letters back to their original subject, then delete them",
		Long: `Replay dead letters once their cause is fixed: each is published again to
its original subject, with its original body and headers and a new
message id (<original id>:replay:<dead letter id>), and deleted from the
DLQ only after JetStream has stored the replay. Workers pass the original
id to the API as the idempotency key, so the API does not act twice.

Give ids, or --all for every dead letter the filters select. A replayed
id is gone: replaying it again says so and changes nothing. --dry-run
shows what would be replayed and changes nothing. --rate spreads a large
replay so that it does not eat the API budget at once.

A summary ends the run: replayed, skipped (gone meanwhile) and failed
(still in the DLQ; the exit status is then 1).`,
		Example: `  omq dlq replay 42
  omq dlq replay 42 43 44
  omq dlq replay --all --kind exhausted --since 2h --dry-run
  omq dlq replay --all --subject 'openmoove.events.>' --error 'timeout' --rate 5`,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupTracing)
	ff.bind(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "replay every dead letter the filters select (all of them with no filter)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be replayed; change nothing")
	cmd.Flags().Float64Var(&rate, "rate", 0, "replays a second at most; 0 for no cap")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ids, err := parseIDs(cmd, args)
		if err != nil {
			return err
		}
		f, err := ff.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		switch {
		case len(ids) > 0 && (all || !f.Empty()):
			return usageErrorf("give dead-letter ids or --all with filters, not both; see omq dlq replay --help")
		case len(ids) == 0 && !all:
			return usageErrorf("which dead letters? give their ids, or --all (narrowed by --subject, --kind, --error, --since, --until); see omq dlq replay --help")
		case rate < 0:
			return usageErrorf("--rate %g: want replays a second above 0, or 0 for no cap; see omq dlq replay --help", rate)
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(cmd.Context())
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq replay")
		if err != nil {
			return err
		}
		defer s.Close()
		if err := storeUsage(cmd, s.store, f); err != nil {
			return err
		}
		tp, flush, err := startTracing(ctx, cfg)
		if err != nil {
			return err
		}
		defer flush()
		s.store.TracerProvider = tp
		var ls []deadletter.Letter
		if len(ids) > 0 {
			ls, err = requireLetters(ctx, cmd, s.store, ids)
		} else {
			ls, err = s.store.List(ctx, f)
		}
		if err != nil {
			return err
		}
		if len(ls) == 0 {
			fmt.Fprintln(e.Stdout, "no dead letters match; nothing to replay")
			return nil
		}
		return replayLetters(ctx, e, s.store, ls, deadletter.ReplayOptions{DryRun: dryRun, Rate: rate})
	}
	return cmd
}

func replayLetters(ctx context.Context, e *Env, store *deadletter.Store, ls []deadletter.Letter, o deadletter.ReplayOptions) error {
	ids := make([]uint64, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	var bar *progressbar.ProgressBar
	if !o.DryRun && len(ids) > 1 && isTerminal(e.Stderr) {
		bar = progressbar.NewOptions(len(ids),
			progressbar.OptionSetWriter(e.Stderr),
			progressbar.OptionSetDescription("replaying"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("letters"),
			progressbar.OptionClearOnFinish(),
		)
	}
	var failed []string
	sum, err := store.ReplayMany(ctx, ids, o, func(r deadletter.ReplayResult, err error) {
		if bar != nil {
			_ = bar.Add(1)
		}
		switch {
		case err != nil:
			failed = append(failed, err.Error())
			if bar == nil {
				fmt.Fprintf(e.Stdout, "failed   %d: %v\n", r.ID, err)
			}
		case r.DryRun:
			fmt.Fprintf(e.Stdout, "would replay %d to %s as %s\n", r.ID, r.Subject, r.MsgID)
		case bar == nil:
			dup := ""
			if r.Duplicate {
				dup = " (already stored by an earlier replay; not published twice)"
			}
			fmt.Fprintf(e.Stdout, "replayed %d to %s as %s (%s #%d)%s\n", r.ID, r.Subject, r.MsgID, r.Stream, r.Seq, dup)
		}
	})
	if bar != nil {
		_ = bar.Finish()
		for _, f := range failed {
			fmt.Fprintf(e.Stderr, "failed: %s\n", f)
		}
	}
	if o.DryRun {
		fmt.Fprintf(e.Stdout, "dry run: %d would be replayed, %d skipped; nothing was changed\n", sum.Replayed, sum.Skipped)
	} else {
		fmt.Fprintf(e.Stdout, "replayed %d, skipped %d, failed %d\n", sum.Replayed, sum.Skipped, sum.Failed)
	}
	if err != nil {
		return fmt.Errorf("replay stopped: %w; what was replayed is gone from the DLQ, the rest is still there", err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%s could not be replayed and %s still in the DLQ; see the errors above", plural(sum.Failed, "dead letter"), isAre(sum.Failed))
	}
	return nil
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
