package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
)

func newDLQCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Find, understand, replay and purge dead letters",
		Long: `Dead letters are messages omq gave up on: the API refused them (permanent),
or their deliveries or failures ran out (exhausted). Each keeps its body,
its headers and why it failed. Its ID is its sequence in the DLQ stream.

Find them with list and stats, read one with show, fix the cause, then
replay them (edit first if the body itself was wrong); export keeps a copy,
purge deletes what will never be needed. replay --all runs as a replay job
that jobs lists and the console shows; replay, edit and purge are on the
audit trail (omq audit). docs/operations-dlq.md is the runbook.

Filters (list, replay, export, purge): --subject is the original subject,
NATS wildcards allowed; --type the message type (offer_accepted,
create_property); --kind one or more of permanent, transient, throttled,
systemic, exhausted; --error a case-insensitive piece of the error;
--reason a whole reason as list --by-reason shows it; --status the API's
HTTP status; --transaction the body's transaction_id; --body field=value
in the JSON body (dotted paths, repeatable); --since and --until an RFC
3339 time, a date, or a duration ago such as 30m, 2h or 7d.

Exit status: 0 done, 1 something failed (see the message), 2 the command
was used wrongly (a bad id or filter); with 2, nothing was changed.`,
		Example: `  omq dlq stats
  omq dlq list --kind permanent --since 2h
  omq dlq show 42
  omq dlq replay --all --subject 'openmoove.events.>' --error 'timeout' --dry-run
  omq dlq edit 42
  omq dlq purge --subject openmoove.events.test_event`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for omq dlq; see omq dlq --help", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newDLQListCmd(e),
		newDLQShowCmd(e),
		newDLQReplayCmd(e),
		newDLQJobsCmd(e),
		newDLQEditCmd(e),
		newDLQExportCmd(e),
		newDLQPurgeCmd(e),
		newDLQStatsCmd(e),
	)
	return cmd
}

// dlqFilterFlags are the filter flags shared by list, replay, export and
// purge.
type dlqFilterFlags struct {
	subject, kind, errText, since, until string
	typ, reason, status, transaction     string
	body                                 []string
}

func (f *dlqFilterFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.subject, "subject", "", "original subject, wildcards allowed (openmoove.events.*, openmoove.commands.>)")
	fs.StringVar(&f.kind, "kind", "", "error kind(s), comma-separated: "+strings.Join(deadletter.Kinds, ", "))
	fs.StringVar(&f.errText, "error", "", "text in the error or its history, any case")
	fs.StringVar(&f.since, "since", "", "dead-lettered at or after: RFC 3339, a date, or a duration ago (2h, 7d)")
	fs.StringVar(&f.until, "until", "", "dead-lettered at or before: RFC 3339, a date, or a duration ago")
	fs.StringVar(&f.typ, "type", "", "message type: an event type (offer_accepted) or create_property")
	fs.StringVar(&f.reason, "reason", "", "a reason exactly as omq dlq list --by-reason shows it")
	fs.StringVar(&f.status, "status", "", "HTTP status of the API's answer, such as 400")
	fs.StringVar(&f.transaction, "transaction", "", "the body's transaction_id")
	fs.StringArrayVar(&f.body, "body", nil, "field=value in the JSON body, dotted paths (address.postcode=LS1 4AP); repeat for several")
}

// filter reads the flags into a Filter; every error is a usage error
// naming the flag.
func (f *dlqFilterFlags) filter(cmd *cobra.Command, now time.Time) (deadletter.Filter, error) {
	out := deadletter.Filter{Subject: strings.TrimSpace(f.subject), Error: f.errText,
		Type: strings.TrimSpace(f.typ), Reason: f.reason, TransactionID: strings.TrimSpace(f.transaction)}
	var err error
	if f.status != "" {
		if out.Status, err = deadletter.ParseStatus(f.status); err != nil {
			return out, filterUsage(cmd, err)
		}
	}
	for _, b := range f.body {
		m, err := deadletter.ParseBodyMatch(b)
		if err != nil {
			return out, filterUsage(cmd, err)
		}
		out.Body = append(out.Body, m)
	}
	if f.kind != "" {
		if out.Kinds, err = deadletter.ParseKinds(f.kind); err != nil {
			return out, filterUsage(cmd, err)
		}
	}
	if f.since != "" {
		if out.Since, err = deadletter.ParseTime("since", f.since, now); err != nil {
			return out, filterUsage(cmd, err)
		}
	}
	if f.until != "" {
		if out.Until, err = deadletter.ParseTime("until", f.until, now); err != nil {
			return out, filterUsage(cmd, err)
		}
	}
	return out, filterUsage(cmd, out.Validate())
}

// filterUsage turns a *deadletter.FilterError into a usage error that
// names the flag (or the argument, for ids).
func filterUsage(cmd *cobra.Command, err error) error {
	var fe *deadletter.FilterError
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Field == "id" {
		return usageErrorf("dead-letter id %q: %s; see omq dlq %s --help", fe.Value, fe.Want, cmd.Name())
	}
	return usageErrorf("--%s %q: %s; see omq dlq %s --help", fe.Field, fe.Value, fe.Want, cmd.Name())
}

// parseIDs reads dead-letter ids from arguments, before anything connects.
func parseIDs(cmd *cobra.Command, args []string) ([]uint64, error) {
	ids := make([]uint64, 0, len(args))
	for _, a := range args {
		id, err := deadletter.ParseID(a)
		if err != nil {
			return nil, filterUsage(cmd, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// dlqSession is a connection to a running omq's NATS and its DLQ.
type dlqSession struct {
	nc    *nats.Conn
	js    jetstream.JetStream // for the audit trail
	store *deadletter.Store
}

func (s *dlqSession) Close() { s.nc.Close() }

func openDLQ(ctx context.Context, cfg *config.Config, name string) (*dlqSession, error) {
	nc, js, err := connect(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	return &dlqSession{nc: nc, js: js, store: deadletter.NewStore(js, cfg.Topology())}, nil
}

// storeUsage makes the store's own filter check (the subject prefix) a
// usage error.
func storeUsage(cmd *cobra.Command, s *deadletter.Store, f deadletter.Filter) error {
	return filterUsage(cmd, s.Validate(f))
}

// requireLetters checks that every id exists, so that a command given a
// wrong id changes nothing.
func requireLetters(ctx context.Context, cmd *cobra.Command, s *deadletter.Store, ids []uint64) ([]deadletter.Letter, error) {
	out := make([]deadletter.Letter, 0, len(ids))
	var missing []string
	for _, id := range ids {
		l, err := s.Get(ctx, id)
		if errors.Is(err, deadletter.ErrNotFound) {
			missing = append(missing, fmt.Sprint(id))
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, usageErrorf("no dead letter %s: a wrong id, or already replayed or purged; nothing was changed; omq dlq list shows the ids", missing[0])
	default:
		return nil, usageErrorf("no dead letters %s: wrong ids, or already replayed or purged; nothing was changed; omq dlq list shows the ids", strings.Join(missing, ", "))
	}
}

// printLetters writes the list table.
func printLetters(w io.Writer, ls []deadletter.Letter) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFAILED AT\tKIND\tSUBJECT\tDELIVERIES\tERROR")
	for _, l := range ls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", l.ID, l.FailedAt.UTC().Format("2006-01-02 15:04:05"),
			orDash(l.Kind), orDash(l.OriginalSubject), l.Deliveries, truncate(l.Error, 80))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// apiStatus finds "…: 400 Bad Request: " (the openmoove client's errors)
// or "invalid create request: " (its validator's), after which come field
// errors separated by "; ".
var apiStatus = regexp.MustCompile(`^(.*?(?:\b[1-5]\d\d [A-Za-z][A-Za-z' -]*?|invalid create request)): (.+)$`)

// splitError splits an error into its head and its field errors, one a
// line, so that "email: Enter a valid email address" stands out.
func splitError(s string) (string, []string) {
	m := apiStatus.FindStringSubmatch(s)
	if m == nil {
		return s, nil
	}
	return m[1], strings.Split(m[2], "; ")
}

// isTerminal reports whether w is a terminal, for progress bars.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// plural returns "1 dead letter" or "n dead letters".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
