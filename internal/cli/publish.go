package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/publisher"
)

func newPublishCmd(e *Env) *cobra.Command {
	var (
		tx, id, actor, source, file string
		data                        []string
	)
	cmd := &cobra.Command{
		Use:   "publish TYPE --transaction ID | publish --file EVENTS.jsonl",
		Short: "Publish upstream events (legal_pack_completed, offer_accepted, …) to omq",
		Long: `Publish one event, or every event of a JSON-lines file, to a running omq.
The milestone worker completes the matching OpenMoove milestone.

Types: ` + strings.Join(events.Types(), ", ") + `.

Each event is validated first. Its --id (generated when absent) becomes the
Nats-Msg-Id, so publishing the same id twice stores it once. With --file,
each line is one event envelope; invalid lines are reported by line number
while the valid ones are published, then a summary is printed. The exit
status is 1 if any line was invalid or not published.`,
		Example: `  omq publish legal_pack_completed --transaction 1a07f2a2-386e-4d13-afb4-1c200834e6b0 --actor crm
  omq publish offer_accepted --transaction 42 --id crm-8841-offer --data price=350000 --data buyer=Smith
  omq publish --file events.jsonl --nats-url nats://nats-1:4222`,
		Args: cobra.MaximumNArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	f := cmd.Flags()
	f.StringVar(&tx, "transaction", "", "the OpenMoove transaction UUID (or numeric property id)")
	f.StringVar(&id, "id", "", "event id, the idempotency key (default: a new UUID)")
	f.StringVar(&actor, "actor", "", "who or what did it; reaches the outcome")
	f.StringVar(&source, "source", "omq-cli", "the upstream system")
	f.StringArrayVar(&data, "data", nil, "extra detail as key=value (repeatable)")
	f.StringVar(&file, "file", "", "JSON-lines file of events (- for stdin)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		var ev events.Event
		switch {
		case file != "" && len(args) > 0:
			return usageErrorf("give a TYPE or --file, not both; see omq publish --help")
		case file == "" && len(args) == 0:
			return usageErrorf("missing event TYPE (one of %s) or --file; see omq publish --help", strings.Join(events.Types(), ", "))
		case file == "":
			var err error
			if ev, err = cliEvent(args[0], tx, id, actor, source, data); err != nil {
				return err
			}
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
		defer cancel()
		nc, _, err := connect(ctx, cfg, "omq publish")
		if err != nil {
			return err
		}
		defer nc.Close()
		p, err := publisher.New(nc, publisher.WithPrefix(cfg.SubjectPrefix))
		if err != nil {
			return err
		}
		if file != "" {
			return e.publishFile(ctx, p, file)
		}
		ack, err := natsCall(ctx, e, "publish", func(ctx context.Context) (publisher.Ack, error) { return p.Publish(ctx, ev) })
		if err != nil {
			return publishHint(err)
		}
		state := "queued"
		if ack.Duplicate {
			state = "already queued (same id)"
		}
		fmt.Fprintf(e.Stdout, "%s %s %s for transaction %s (%s #%d)\n", state, ev.Type, ack.ID, ev.TransactionID, ack.Stream, ack.Sequence)
		return nil
	}
	return cmd
}

// cliEvent builds and validates the event of the flags; problems are usage
// errors naming the flag.
func cliEvent(typ, tx, id, actor, source string, data []string) (events.Event, error) {
	ev := events.Event{ID: id, Type: typ, TransactionID: tx, Actor: actor, Source: source, OccurredAt: time.Now().UTC()}
	for _, kv := range data {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return ev, usageErrorf("invalid --data %q: want key=value, such as --data price=350000", kv)
		}
		if ev.Data == nil {
			ev.Data = map[string]any{}
		}
		ev.Data[k] = v
	}
	var ve *events.ValidationError
	if err := ev.Validate(); errors.As(err, &ve) {
		flags := map[string]string{"type": "TYPE", "transaction_id": "--transaction", "id": "--id", "actor": "--actor", "source": "--source"}
		var parts []string
		for _, field := range []string{"type", "transaction_id", "id", "actor", "source"} {
			if msgs, ok := ve.Fields[field]; ok {
				parts = append(parts, flags[field]+": "+strings.Join(msgs, " "))
			}
		}
		return ev, usageErrorf("invalid event: %s; see omq publish --help", strings.Join(parts, "; "))
	}
	return ev, nil
}

// publishFile publishes every valid line of a JSON-lines file in one batch.
func (e *Env) publishFile(ctx context.Context, p *publisher.Publisher, path string) error {
	var in io.Reader = e.Stdin
	size := int64(-1)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageErrorf("cannot read --file: %v", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	bar := e.progress(size)
	b := p.NewBatch()
	var lines []int // line number of each accepted Add
	invalid := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Bytes()
		if bar != nil {
			_ = bar.Add(len(raw) + 1)
		}
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		ev, err := events.Parse(raw)
		if err == nil {
			_, err = b.Add(ctx, ev)
		}
		if err != nil {
			var ve *events.ValidationError
			if !errors.As(err, &ve) {
				return err
			}
			invalid++
			fmt.Fprintf(e.Stderr, "line %d: %v\n", n, err)
			continue
		}
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read --file: %w", err)
	}
	res := b.Flush(ctx)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(e.Stderr)
	}
	for _, f := range res.Failures {
		fmt.Fprintf(e.Stderr, "line %d: not published: %v\n", lines[f.Index], natserr.Explain(f.Err))
	}
	dups := res.Duplicates()
	fmt.Fprintf(e.Stdout, "published %d, already queued %d, invalid %d, failed %d\n", len(res.Acks)-dups, dups, invalid, len(res.Failures))
	if invalid > 0 || len(res.Failures) > 0 {
		return fmt.Errorf("%d invalid and %d failed lines; fix them and publish the file again (published lines are not queued twice)", invalid, len(res.Failures))
	}
	return nil
}

// progress returns a bar over size bytes on a terminal, else nil.
func (e *Env) progress(size int64) *progressbar.ProgressBar {
	f, ok := e.Stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	return progressbar.DefaultBytes(size, "publishing")
}
