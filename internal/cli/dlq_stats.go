package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
)

// dlqWarnPercent is the fill from which stats warns, as omq run does.
const dlqWarnPercent = 80

func newDLQStatsCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count dead letters by kind and subject, and how full the DLQ is",
		Long: `Count the dead letters and their bytes, by kind of failure and by original
subject, and show how full the DLQ stream is. The DLQ never drops old dead
letters to make room: when it is full it refuses new ones, and the workers
keep retrying those messages. From 80% full, export and purge what you no
longer need, or raise --dlq-max-bytes and run omq streams apply.`,
		Example: `  omq dlq stats
  omq dlq stats --json | jq .fill_percent`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq stats")
		if err != nil {
			return err
		}
		defer s.Close()
		st, err := s.store.Stats(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(e.Stdout, st)
		}
		printStats(e.Stdout, s.store.Topology().DLQStream(), st)
		return nil
	}
	return cmd
}

func printStats(w io.Writer, stream string, st deadletter.Stats) {
	fmt.Fprintf(w, "Dead letters: %d (%s)\n", st.Count, byteSize(st.Bytes))
	if st.MaxBytes > 0 {
		fmt.Fprintf(w, "DLQ fill:     %.1f%% of %s (%s, %s stored)\n", st.FillPercent, byteSize(st.MaxBytes), stream, byteSize(int64(st.StreamBytes)))
	} else {
		fmt.Fprintf(w, "DLQ fill:     no byte cap (%s, %s stored)\n", stream, byteSize(int64(st.StreamBytes)))
	}
	if st.Count > 0 {
		fmt.Fprintf(w, "Oldest:       %s\nNewest:       %s\n", st.Oldest.Format(time.RFC3339), st.Newest.Format(time.RFC3339))
	}
	if st.FillPercent >= dlqWarnPercent {
		fmt.Fprintf(w, "WARNING: the DLQ is %.0f%% full; at 100%% new dead letters are refused and workers keep retrying them: export and purge, or raise --dlq-max-bytes\n", st.FillPercent)
	}
	if st.Count == 0 {
		return
	}
	table := func(title string, m map[string]deadletter.Tally) {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tCOUNT\tBYTES\n", title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		// Biggest first, then by name.
		slices.SortFunc(keys, func(a, b string) int {
			if m[a].Count != m[b].Count {
				return m[b].Count - m[a].Count
			}
			if a < b {
				return -1
			}
			return 1
		})
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", orDash(k), m[k].Count, byteSize(m[k].Bytes))
		}
		tw.Flush()
	}
	table("KIND", st.ByKind)
	table("SUBJECT", st.BySubject)
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
