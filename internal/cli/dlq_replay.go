package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

func newDLQReplayCmd(e *Env) *cobra.Command {
	var (
		ff     dlqFilterFlags
		all    bool
		dryRun bool
		rate   float64
		resume string
	)
	cmd := &cobra.Command{
		Use:   "replay ID... | --all [filters] | --resume JOB",
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

--all runs as a replay job, the same the console's "Replay all matching"
starts: it replays exactly the letters counted when it starts (later ones
are left alone), its progress is kept in NATS, the console's replay jobs
page shows it and can cancel it, and omq dlq jobs lists it. Its first line
names the job; after Ctrl-C, a cancel or a lost connection, --resume JOB
goes on from the last letter it tried (with --rate, at a new pace).

A summary ends the run: replayed, skipped (gone meanwhile) and failed
(still in the DLQ; the exit status is then 1); for a job, the counts of
the whole job. A job cancelled elsewhere or interrupted exits with 1 and
says how to resume it. Each replay, edit and purge is on the audit trail
(omq audit) as cli:<OS user>.`,
		Example: `  omq dlq replay 42
  omq dlq replay 42 43 44
  omq dlq replay --all --kind exhausted --since 2h --dry-run
  omq dlq replay --all --subject 'openmoove.events.>' --error 'timeout' --rate 5
  omq dlq replay --resume 3Ncyf1PpbZ8v0QpRa9aX1b`,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupTracing)
	ff.bind(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "replay every dead letter the filters select (all of them with no filter), as a replay job")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be replayed; change nothing")
	cmd.Flags().Float64Var(&rate, "rate", 0, "replays a second at most; 0 for no cap")
	cmd.Flags().StringVar(&resume, "resume", "", "go on with this replay job (omq dlq jobs lists them) from its last letter")
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
		case resume != "" && (len(ids) > 0 || all || !f.Empty() || dryRun):
			return usageErrorf("--resume goes on with a job as it was started: give no ids, --all, filters or --dry-run with it; see omq dlq replay --help")
		case len(ids) > 0 && (all || !f.Empty()):
			return usageErrorf("give dead-letter ids or --all with filters, not both; see omq dlq replay --help")
		case len(ids) == 0 && !all && resume == "":
			return usageErrorf("which dead letters? give their ids, or --all (narrowed by --subject, --kind, --error, --since, --until), or --resume JOB; see omq dlq replay --help")
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
		r := replayRun{e: e, s: s, cfg: cfg}
		switch {
		case resume != "":
			var newRate *float64
			if cmd.Flags().Changed("rate") {
				newRate = &rate
			}
			return r.resume(ctx, resume, newRate)
		case all && !dryRun:
			return r.start(ctx, f, rate)
		}
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
		sum, err := replayLetters(ctx, e, s.store, ls, deadletter.ReplayOptions{DryRun: dryRun, Rate: rate})
		if !dryRun {
			auditCLI(ctx, e, s.js, cfg, audit.Entry{Kind: "dlq.replay", Target: audit.IDs(ids), Count: sum.Replayed}, err)
		}
		return err
	}
	return cmd
}

func replayLetters(ctx context.Context, e *Env, store *deadletter.Store, ls []deadletter.Letter, o deadletter.ReplayOptions) (deadletter.Summary, error) {
	ids := make([]uint64, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	bar := newReplayBar(e, len(ids), o.DryRun)
	p := replayPrinter{e: e, bar: bar}
	sum, err := store.ReplayMany(ctx, ids, o, p.print)
	p.finish()
	if o.DryRun {
		fmt.Fprintf(e.Stdout, "dry run: %d would be replayed, %d skipped; nothing was changed\n", sum.Replayed, sum.Skipped)
	} else {
		fmt.Fprintf(e.Stdout, "replayed %d, skipped %d, failed %d\n", sum.Replayed, sum.Skipped, sum.Failed)
	}
	if err != nil {
		return sum, fmt.Errorf("replay stopped: %w; what was replayed is gone from the DLQ, the rest is still there", err)
	}
	return sum, failedErr(sum.Failed)
}

// failedErr is the failure of a replay that left n letters in the DLQ.
func failedErr(n int) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%s could not be replayed and %s still in the DLQ; see the errors above", plural(n, "dead letter"), isAre(n))
}

// newReplayBar is a progress bar on a terminal for a replay of n letters,
// nil when there is no terminal, one letter or nothing to change.
func newReplayBar(e *Env, n int, dryRun bool) *progressbar.ProgressBar {
	if dryRun || n <= 1 || !isTerminal(e.Stderr) {
		return nil
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(e.Stderr),
		progressbar.OptionSetDescription("replaying"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("letters"),
		progressbar.OptionClearOnFinish(),
	)
}

// replayPrinter says what became of each letter: a line a letter, or a
// progress bar and the failures after it.
type replayPrinter struct {
	e      *Env
	bar    *progressbar.ProgressBar
	failed []string
}

func (p *replayPrinter) print(r deadletter.ReplayResult, err error) {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
	switch {
	case err != nil:
		p.failed = append(p.failed, err.Error())
		if p.bar == nil {
			fmt.Fprintf(p.e.Stdout, "failed   %d: %v\n", r.ID, err)
		}
	case r.DryRun:
		fmt.Fprintf(p.e.Stdout, "would replay %d to %s as %s\n", r.ID, r.Subject, r.MsgID)
	case p.bar == nil:
		dup := ""
		if r.Duplicate {
			dup = " (already stored by an earlier replay; not published twice)"
		}
		fmt.Fprintf(p.e.Stdout, "replayed %d to %s as %s (%s #%d)%s\n", r.ID, r.Subject, r.MsgID, r.Stream, r.Seq, dup)
	}
}

func (p *replayPrinter) finish() {
	if p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	for _, f := range p.failed {
		fmt.Fprintf(p.e.Stderr, "failed: %s\n", f)
	}
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
