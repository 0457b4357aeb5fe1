package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

// replayRun is omq dlq replay --all and --resume: a replay job in the
// REPLAYJOBS bucket, run in this process, so the console shows its
// progress and can cancel it, and a stopped run can be resumed.
type replayRun struct {
	e   *Env
	s   *dlqSession
	cfg *config.Config
}

func (r replayRun) jobs(ctx context.Context) (*deadletter.Jobs, error) {
	return natsCall(ctx, r.e, "open the replay jobs", func(ctx context.Context) (*deadletter.Jobs, error) {
		return deadletter.NewJobs(ctx, r.s.store)
	})
}

// start counts what f selects into a new job and runs it.
func (r replayRun) start(ctx context.Context, f deadletter.Filter, rate float64) error {
	jobs, err := r.jobs(ctx)
	if err != nil {
		return err
	}
	// A job is kept 30 days even when it had nothing to do: a replay run
	// from cron would fill omq dlq jobs with empty ones. One match is
	// enough to know, and stops the scan there.
	first := f
	first.Limit = 1
	if ls, err := r.s.store.List(ctx, first); err != nil || len(ls) == 0 {
		if err == nil {
			fmt.Fprintln(r.e.Stdout, "no dead letters match; nothing to replay")
		}
		return err
	}
	// Counting scans the DLQ: it gets the command's time, not one request's.
	j, err := jobs.Create(ctx, f, deadletter.JobOptions{By: audit.CLIUser(), Rate: rate})
	if err != nil {
		return err
	}
	return r.run(ctx, jobs, j, "dlq.replay.start")
}

// resume goes on with job id from its cursor, at newRate when given.
func (r replayRun) resume(ctx context.Context, id string, newRate *float64) error {
	jobs, err := r.jobs(ctx)
	if err != nil {
		return err
	}
	j, err := jobs.Get(ctx, id)
	if errors.Is(err, deadletter.ErrJobNotFound) {
		return usageErrorf("no replay job %q: a wrong id, or older than the bucket keeps jobs; omq dlq jobs lists them", id)
	}
	if err != nil {
		return err
	}
	if j.State == deadletter.JobDone {
		fmt.Fprintf(r.e.Stdout, "job %s is already done (replayed %d, skipped %d, failed %d); nothing left to replay\n", j.ID, j.Replayed, j.Skipped, j.Failed)
		return nil
	}
	if newRate != nil {
		if j, err = jobs.SetRate(ctx, id, *newRate); err != nil {
			return err
		}
	}
	return r.run(ctx, jobs, j, "dlq.replay.resume")
}

// run runs job j here until it is done, cancelled elsewhere or
// interrupted (Ctrl-C), prints a line a letter and the job's summary,
// and puts the run on the audit trail with kind, the console's word for
// the same action.
func (r replayRun) run(ctx context.Context, jobs *deadletter.Jobs, j deadletter.Job, kind string) error {
	e := r.e
	fmt.Fprintf(e.Stdout, "job %s: resume with omq dlq replay --resume %s\n", j.ID, j.ID)
	if j.Tried() > 0 {
		fmt.Fprintf(e.Stdout, "job %s: going on after %d of %d\n", j.ID, j.Tried(), j.Count)
	}
	// The first Ctrl-C stops the job between two letters and marks it
	// interrupted, so --resume can take it up at once; a second one quits.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := e.onSignals(cancel, stderrWarner{e})
	defer stopSignals()

	before := j.Replayed
	p := replayPrinter{e: e, bar: newReplayBar(e, j.Count-j.Tried(), false)}
	last, err := jobs.RunSteps(ctx, j.ID, func(s deadletter.JobStep) { p.print(s.Result, s.Err) })
	p.finish()
	if last.ID == "" {
		last = j // refused before it ran: the job as it was
	}
	if !errors.Is(err, deadletter.ErrJobBusy) {
		fmt.Fprintf(e.Stdout, "replayed %d, skipped %d, failed %d\n", last.Replayed, last.Skipped, last.Failed)
	}
	err = jobEnd(last, err)
	auditCLI(ctx, e, r.s.js, r.cfg, audit.Entry{Kind: kind, Target: "job " + j.ID, Filter: filterFlags(j.Filter),
		Count: last.Replayed - before}, err)
	return err
}

// jobEnd turns how a job's run ended into the command's error, each
// naming what to do next.
func jobEnd(j deadletter.Job, err error) error {
	resume := "omq dlq replay --resume " + j.ID
	switch {
	case errors.Is(err, deadletter.ErrJobBusy):
		return fmt.Errorf("replay job %s is already running, in the console or another omq; omq dlq jobs shows its progress (a runner that died shows interrupted after %s, then %s takes it up)", j.ID, deadletter.JobStale, resume)
	case errors.Is(err, deadletter.ErrJobCancelled):
		return fmt.Errorf("replay job %s was cancelled (in the console or by another omq) after %d of %d; what was replayed is gone from the DLQ, the rest is still there; %s goes on with it", j.ID, j.Tried(), j.Count, resume)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("replay job %s interrupted after %d of %d; what was replayed is gone from the DLQ, the rest is still there; %s goes on with it", j.ID, j.Tried(), j.Count, resume)
	case err != nil:
		return fmt.Errorf("replay job %s stopped after %d of %d: %w; what was replayed is gone from the DLQ; %s goes on with it", j.ID, j.Tried(), j.Count, err, resume)
	}
	return failedErr(j.Failed)
}

// stderrWarner says onSignals' warning on stderr, for commands without a
// logger.
type stderrWarner struct{ e *Env }

func (w stderrWarner) Warn(msg string, _ ...any) { fmt.Fprintf(w.e.Stderr, "omq: %s\n", msg) }

// filterFlags writes a stored filter as omq dlq's flags, times absolute,
// as the console writes a job's filter on the audit trail.
func filterFlags(f deadletter.Filter) string {
	var fl audit.Flags
	fl.Add("subject", f.Subject)
	fl.Add("type", f.Type)
	fl.Add("kind", strings.Join(f.Kinds, ","))
	fl.Add("error", f.Error)
	fl.Add("reason", f.Reason)
	if f.Status != 0 {
		fl.Add("status", strconv.Itoa(f.Status))
	}
	fl.Add("transaction", f.TransactionID)
	for _, b := range f.Body {
		fl.Add("body", b.String())
	}
	if !f.Since.IsZero() {
		fl.Add("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		fl.Add("until", f.Until.UTC().Format(time.RFC3339))
	}
	return fl.String()
}

func newDLQJobsCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the replay jobs (omq dlq replay --all and the console's), newest first",
		Long: `List the replay jobs, newest first: omq dlq replay --all and the console's
"Replay all matching" both run one. For each: its id, its state (ready,
running, interrupted, cancelled, done), how far it got of the letters it
counted when it started, what it replayed, skipped and failed, who started
it and its filter. omq dlq replay --resume JOB goes on with an
interrupted or cancelled one; the console's replay jobs page cancels one.`,
		Example: `  omq dlq jobs
  omq dlq jobs --json | jq 'select(.state == "interrupted") | .id'`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line instead of a table")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq jobs")
		if err != nil {
			return err
		}
		defer s.Close()
		list, err := (replayRun{e: e, s: s, cfg: cfg}).list(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			for _, j := range list {
				if err := printJSONLine(e, j); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tPROGRESS\tREPLAYED\tSKIPPED\tFAILED\tBY\tCREATED\tFILTER")
		for _, j := range list {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d (%d%%)\t%d\t%d\t%d\t%s\t%s\t%s\n", j.ID, j.State, j.Tried(), j.Count, j.Percent(),
				j.Replayed, j.Skipped, j.Failed, orDash(j.By), j.Created.UTC().Format(time.RFC3339), filterFlags(j.Filter))
		}
		if len(list) == 0 {
			fmt.Fprintln(tw, "(no replay job yet)\t\t\t\t\t\t\t\t")
		}
		return tw.Flush()
	}
	return cmd
}

func (r replayRun) list(ctx context.Context) ([]deadletter.Job, error) {
	jobs, err := r.jobs(ctx)
	if err != nil {
		return nil, err
	}
	return jobs.List(ctx)
}
