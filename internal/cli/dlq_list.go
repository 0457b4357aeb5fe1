package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
)

func newDLQListCmd(e *Env) *cobra.Command {
	var (
		ff       dlqFilterFlags
		asJSON   bool
		byReason bool
		limit    int
		after    uint64
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first",
		Long: `List dead letters, oldest first, as a table: ID (what show, replay, edit and
purge take), when it failed, the kind of failure, the original subject,
how many deliveries it had and the last error (cut short; show has all
of it). --json prints every field, bodies included, as one JSON array.

--by-reason counts the selected letters by reason instead, most first: the
error with what differs per message (the API path, ids, numbers) taken
out. Pass a reason to --reason to select exactly its letters, for replay
or purge. --after ID starts after that id: the next page of a long list.`,
		Example: `  omq dlq list
  omq dlq list --kind permanent --since 2h
  omq dlq list --subject 'openmoove.events.*' --error 'phone_number'
  omq dlq list --since 2025-06-01T00:00:00Z --until 2025-06-01T06:00:00Z --limit 0
  omq dlq list --by-reason --kind permanent
  omq dlq list --reason '400 Bad Request: phone_number: Invalid phone number format'
  omq dlq list --body address.postcode='LS1 4AP' --status 400
  omq dlq list --json | jq '.[].error'`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	ff.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of the dead letters, bodies included")
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many; 0 for all")
	cmd.Flags().BoolVar(&byReason, "by-reason", false, "count the selected letters by reason, most first")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this dead-letter id (the next page)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		f, err := ff.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		if limit < 0 {
			return usageErrorf("--limit %d: want 0 (all) or more; see omq dlq list --help", limit)
		}
		f.After = after
		if limit > 0 && !byReason {
			f.Limit = limit + 1 // one more tells whether there are more
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq list")
		if err != nil {
			return err
		}
		defer s.Close()
		if err := storeUsage(cmd, s.store, f); err != nil {
			return err
		}
		if byReason {
			return listReasons(ctx, e, s.store, f, asJSON)
		}
		ls, err := s.store.List(ctx, f)
		if err != nil {
			return err
		}
		more := limit > 0 && len(ls) > limit
		if more {
			ls = ls[:limit]
		}
		if asJSON {
			if ls == nil {
				ls = []deadletter.Letter{}
			}
			return printJSON(e.Stdout, ls)
		}
		if len(ls) == 0 {
			fmt.Fprintln(e.Stdout, "no dead letters match")
			return nil
		}
		printLetters(e.Stdout, ls)
		if more {
			fmt.Fprintf(e.Stdout, "(the first %d; more match: --after %d for the next page, narrow the filters, or --limit 0 for all)\n", limit, ls[len(ls)-1].ID)
		}
		return nil
	}
	return cmd
}

// listReasons prints the selected letters counted by reason.
func listReasons(ctx context.Context, e *Env, store *deadletter.Store, f deadletter.Filter, asJSON bool) error {
	gs, err := store.Groups(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		if gs == nil {
			gs = []deadletter.Group{}
		}
		return printJSON(e.Stdout, gs)
	}
	if len(gs) == 0 {
		fmt.Fprintln(e.Stdout, "no dead letters match")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tKINDS\tREASON")
	for _, g := range gs {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", g.Count, strings.Join(g.Kinds, ","), g.Reason)
	}
	return tw.Flush()
}
