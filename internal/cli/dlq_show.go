package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
)

func newDLQShowCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show everything about one dead letter",
		Long: `Show one dead letter: why it failed (the API's field errors one a line),
where it came from, the error history delivery by delivery, every header,
and the body, pretty-printed when it is JSON.`,
		Example: `  omq dlq show 42
  omq dlq show 42 --json | jq .data`,
		Args: cobra.ExactArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the dead letter as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ids, err := parseIDs(cmd, args)
		if err != nil {
			return err
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq show")
		if err != nil {
			return err
		}
		defer s.Close()
		ls, err := requireLetters(ctx, cmd, s.store, ids)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(e.Stdout, ls[0])
		}
		printLetter(e.Stdout, ls[0], time.Now())
		return nil
	}
	return cmd
}

// headerNote tells apart the two message ids among the headers.
var headerNote = map[string]string{
	nats.MsgIdHdr:                  "  (this dead letter's own id)",
	deadletter.HeaderOriginalMsgID: "  (the original message's id)",
}

func printLetter(w io.Writer, l deadletter.Letter, now time.Time) {
	fmt.Fprintf(w, "Dead letter %d\n", l.ID)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-13s %s\n", name+":", fmt.Sprintf(format, args...))
	}
	field("Failed at", "%s (%s ago)", l.FailedAt.UTC().Format(time.RFC3339), now.Sub(l.FailedAt).Round(time.Second))
	field("Kind", "%s", orDash(l.Kind))
	head, items := splitError(l.Error)
	field("Error", "%s", orDash(head))
	for _, it := range items {
		fmt.Fprintf(w, "  %-13s   - %s\n", "", it)
	}
	field("Subject", "%s", orDash(l.OriginalSubject))
	origin := orDash(l.OriginalStream)
	if l.OriginalSeq > 0 {
		origin += fmt.Sprintf(" #%d", l.OriginalSeq)
	}
	field("From", "%s", origin)
	// Two ids that look alike and are not: say whose each is.
	field("Original id", "%s (the original message's Nats-Msg-Id; a replay's API idempotency key: %s)", orDash(l.OriginalMsgID), l.IdempotencyKey())
	field("Letter id", "%s (this dead letter's own Nats-Msg-Id, unrelated to the original's)", orDash(l.Header.Get(nats.MsgIdHdr)))
	field("Deliveries", "%d", l.Deliveries)
	field("Worker", "%s", orDash(l.Worker))

	if len(l.Errors) > 0 {
		fmt.Fprintln(w, "\nError history (oldest first):")
		for i, r := range l.Errors {
			fmt.Fprintf(w, "  %d. %s  delivery %d  %s\n", i+1, r.At, r.Delivery, r.Kind)
			head, items := splitError(r.Error)
			fmt.Fprintf(w, "     %s\n", head)
			for _, it := range items {
				fmt.Fprintf(w, "       - %s\n", it)
			}
		}
	}

	fmt.Fprintln(w, "\nHeaders:")
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		if k != deadletter.HeaderErrors { // shown above, readably
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(w, "  %s: %s%s\n", k, v, headerNote[k])
		}
	}

	fmt.Fprintf(w, "\nBody (%d bytes):\n", len(l.Data))
	var pretty bytes.Buffer
	if json.Indent(&pretty, l.Data, "  ", "  ") == nil {
		fmt.Fprintf(w, "  %s\n", pretty.String())
	} else {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(fmt.Sprintf("%q", l.Data), "\\n", "\n  "))
	}
}
