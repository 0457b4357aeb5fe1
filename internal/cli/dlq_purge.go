package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

// purgeShown is how many letters purge lists before asking.
const purgeShown = 20

func newDLQPurgeCmd(e *Env) *cobra.Command {
	var (
		ff       dlqFilterFlags
		all, yes bool
	)
	cmd := &cobra.Command{
		Use:   "purge [ID...] [filters]",
		Short: "Delete dead letters for good, after showing them and asking",
		Long: `Delete the dead letters given by id or selected by the filters, for good.
purge first shows what it will delete and asks y/N on standard input;
--yes skips the question (for scripts). Only what was shown is deleted:
a dead letter that arrives meanwhile is kept.

With no id and no filter, purge refuses, unless --all says you mean every
dead letter. Export first if you might need them again.`,
		Example: `  omq dlq purge --subject openmoove.events.test_event
  omq dlq purge --kind permanent --until 30d --yes
  omq dlq purge 42 43
  omq dlq export --output all.jsonl && omq dlq purge --all`,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	ff.bind(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "with no filter: delete every dead letter")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ids, err := parseIDs(cmd, args)
		if err != nil {
			return err
		}
		f, err := ff.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		f.IDs = ids
		if f.Empty() && !all {
			return usageErrorf("purge needs ids or a filter (--subject, --kind, --error, --since, --until), or --all to delete every dead letter; nothing was deleted")
		}
		if !f.Empty() && all {
			return usageErrorf("--all means every dead letter; drop it to delete only what the ids or filters select")
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq purge")
		if err != nil {
			return err
		}
		defer s.Close()
		if err := storeUsage(cmd, s.store, f); err != nil {
			return err
		}
		var ls []deadletter.Letter
		filters := f
		filters.IDs = nil
		if len(ids) > 0 && filters.Empty() {
			ls, err = requireLetters(ctx, cmd, s.store, ids)
		} else {
			ls, err = s.store.List(ctx, f)
		}
		if err != nil {
			return err
		}
		if len(ls) == 0 {
			fmt.Fprintln(e.Stdout, "no dead letters match; nothing to delete")
			return nil
		}
		these := "These " + plural(len(ls), "dead letter")
		if len(ls) == 1 {
			these = "This dead letter"
		}
		fmt.Fprintf(e.Stdout, "%s will be deleted:\n", these)
		printLetters(e.Stdout, ls[:min(len(ls), purgeShown)])
		if len(ls) > purgeShown {
			fmt.Fprintf(e.Stdout, "… and %d more (omq dlq list --limit 0 with the same filters shows them all)\n", len(ls)-purgeShown)
		}
		if !yes && !confirm(e, fmt.Sprintf("Delete %s? [y/N] ", strings.ToLower(these))) {
			fmt.Fprintln(e.Stdout, "nothing was deleted")
			return nil
		}
		del := make([]uint64, len(ls))
		for i, l := range ls {
			del[i] = l.ID
		}
		n, err := s.store.Delete(ctx, del...)
		fmt.Fprintf(e.Stdout, "deleted %s\n", plural(n, "dead letter"))
		a := audit.Entry{Kind: "dlq.purge", Count: n}
		if len(ids) > 0 {
			a.Target = audit.IDs(ids)
		}
		if !filters.Empty() || all {
			a.Filter = filterFlags(filters)
		}
		auditCLI(ctx, e, s.js, cfg, a, err)
		return err
	}
	return cmd
}

// confirm asks question on stdout and reads a yes from stdin.
func confirm(e *Env, question string) bool {
	fmt.Fprint(e.Stdout, question)
	if e.Stdin == nil {
		fmt.Fprintln(e.Stdout)
		return false
	}
	line, _ := bufio.NewReader(e.Stdin).ReadString('\n')
	if f, ok := e.Stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(e.Stdout) // the answer was not echoed
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
