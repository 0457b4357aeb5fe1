package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/status"
)

func newStatusCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether omq is healthy, degraded, paused or stuck, and why",
		Long: `Show omq's state — healthy, degraded (calls failing, the API budget spent
with work waiting, the DLQ 80% full, a stream missing), paused (a breaker
holds a worker's consumer for every replica) or stuck (a worker's oldest
unfinished message is older than --stuck-after) — with each reason; then
each stream with its message count and size, each consumer with what it
has pending, in flight and redelivered, its oldest unfinished message and
whether it is paused; then the API budget every replica shares, the
breakers, and the dead letters waiting for a person.

--json prints the same JSON as GET /status on omq run's HTTP listener.`,
		Example: `  omq status
  omq status --json | jq '{state, reasons}'
  omq status --nats-url nats://nats-1:4222`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupLayout, config.GroupWorkers)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (as GET /status) instead of text")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := readStatusFor(e, cmd, cfg, "omq status")
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(e.Stdout, st)
		}
		printStatus(e.Stdout, st)
		return nil
	}
	return cmd
}

// statusOptions are the settings the status model is read with.
func statusOptions(cfg *config.Config) status.Options {
	return status.Options{Topology: cfg.Topology(), StuckAfter: cfg.StuckAfter,
		Budget: budget.LimitsOf(cfg.BudgetPerHour, cfg.BudgetPerMinute, cfg.BudgetLanes)}
}

func printStatus(w io.Writer, st *status.Status) {
	fmt.Fprintf(w, "State:         %s\n", st.State)
	for _, r := range st.Reasons {
		fmt.Fprintf(w, "  %s: %s\n", r.State, r.Text)
	}
	fmt.Fprintln(w)
	printStreams(w, st)
	printConsumers(w, st)
	printSummary(w, st)
}

func printStreams(w io.Writer, st *status.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tSEEN")
	for _, s := range st.Streams {
		if s.Missing {
			fmt.Fprintf(tw, "%s\tmissing (run omq streams apply)\t\t\n", s.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", s.Name, s.Messages, byteSize(int64(s.Bytes)), s.LastSeq)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func printConsumers(w io.Writer, st *status.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tSTREAM\tPENDING\tIN FLIGHT\tREDELIVERED\tSTATE\tOLDEST")
	n := 0
	for _, s := range st.Streams {
		for _, c := range s.Consumers {
			state := "running"
			if c.PausedUntil != nil && c.PausedUntil.After(st.At) {
				state = "paused until " + clock(*c.PausedUntil)
			}
			oldest := "-"
			if c.OldestPendingAt != nil {
				oldest = st.At.Sub(*c.OldestPendingAt).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", c.Name, s.Name, c.Pending, c.AckPending, c.Redelivered, state, oldest)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(tw, "(none yet)\t\t\t\t\t\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func printSummary(w io.Writer, st *status.Status) {
	if b := st.Budget; b != nil {
		line := fmt.Sprintf("API budget:    %d of %d left this hour, %d of %d this minute", b.HourLeft, b.PerHour, b.MinuteLeft, b.PerMinute)
		if b.StoppedUntil != nil {
			line += "; stopped by a 429 until " + clock(*b.StoppedUntil)
		}
		fmt.Fprintln(w, line)
		printLanes(w, b.Lanes)
	}
	printBreakers(w, st)
	d := st.DeadLetters
	fmt.Fprintf(w, "Dead letters:  %d (%s, %.1f%% of the DLQ's limit)", d.Count, byteSize(int64(d.Bytes)), 100*d.Fill)
	if d.Count > 0 {
		fmt.Fprint(w, "; see omq dlq list")
	}
	fmt.Fprintln(w)
}

// printLanes shows each lane of the budget on one line: what it spent and
// what waits for it.
func printLanes(w io.Writer, lanes []status.Lane) {
	for _, l := range lanes {
		line := fmt.Sprintf("  lane %-7s %d spent this hour, %d this minute", l.Lane+":", l.HourSpent, l.MinuteSpent)
		if l.Waiting > 0 {
			line += fmt.Sprintf("; %d waiting, the oldest for %s", l.Waiting, time.Duration(l.OldestWaitSeconds*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintln(w, line)
	}
}

// printBreakers says the API answers only when nothing says otherwise: a
// closed breaker means fewer than --breaker-transient failures in a row,
// not a healthy API.
func printBreakers(w io.Writer, st *status.Status) {
	open := 0
	for _, b := range st.Breakers {
		if b.Open {
			open++
			fmt.Fprintf(w, "Breaker open:  %s paused until %s, next probe %s (%s)\n", b.Worker, clock(b.Until), clock(b.NextProbe), b.Reason)
		}
	}
	switch {
	case open > 0:
	case st.Failing.Messages > 0:
		fmt.Fprintf(w, "Breakers:      all closed, but calls are failing (%d messages in the last %s; see State)\n",
			st.Failing.Messages, time.Duration(st.Failing.WindowSecs*float64(time.Second)))
	default:
		fmt.Fprintln(w, "Breakers:      all closed (no recent failures)")
	}
}

// clock is a time as omq status prints it: UTC to the second, as the logs.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05Z")
}
