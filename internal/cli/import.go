package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

func newImportCmd(e *Env) *cobra.Command {
	var (
		dryRun bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Queue property creations from a CSV or JSON-lines file",
		Long: `Queue one property creation per row of FILE: a CSV whose header row names
the API's fields (first_name, last_name, email, phone_number,
property_address, property_postcode, estate_agent_email, conveyancer_email,
mortgage_broker_email, auctioneer_email, sale_method, products with ";"
between slugs, request_id or external_id), or JSON lines, one POST /clients/
body per line.

Every row is validated first, with the API's own rules and words, as the
property worker will complete it (--assignments, --default-estate-agent-email);
each invalid row is reported with its line number and field errors. The
valid rows are then queued (a progress bar on a terminal) and a summary
says how many were queued, invalid, and already queued.

A row's request_id (its idempotency key) is its request_id or external_id
column, else a hash of the row: importing the same file again queues
nothing new and never creates a second property. Follow the creations with
omq import status FILE. The exit status is 1 when any row was invalid or
could not be queued.`,
		Example: `  omq import instructions.csv --dry-run
  omq import instructions.csv
  omq import migration.jsonl --nats-url nats://nats-1:4222
  omq import status instructions.csv`,
		Args: cobra.ExactArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupProperties, config.GroupTracing)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate every row and report; queue nothing")
	cmd.Flags().StringVar(&format, "format", "auto", "file format: auto (by extension, else by content), csv or jsonl")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		rows, err := loadImport(cfg, args[0], format)
		if err != nil {
			return err
		}
		return runImport(cmd.Context(), e, cfg, rows, dryRun)
	}
	cmd.AddCommand(newImportStatusCmd(e))
	return cmd
}

// importSummary counts what omq import did.
type importSummary struct {
	queued, invalid, already, failed int
}

func runImport(ctx context.Context, e *Env, cfg *config.Config, rows []importRow, dryRun bool) error {
	var s importSummary
	var valid []importRow
	for _, r := range rows {
		if r.valid() {
			valid = append(valid, r)
			continue
		}
		s.invalid++
		fmt.Fprintf(e.Stderr, "line %d: %s\n", r.Line, r.problems())
	}
	if dryRun {
		fmt.Fprintf(e.Stdout, "dry run: %d valid, %d invalid; nothing queued\n", len(valid), s.invalid)
		if s.invalid > 0 {
			return fmt.Errorf("%s invalid; fix them, then import without --dry-run", rowCount(s.invalid))
		}
		return nil
	}
	if len(valid) > 0 {
		if err := publishRows(ctx, e, cfg, valid, &s); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Stdout, "queued %d, invalid %d, already queued %d", s.queued, s.invalid, s.already)
	if s.failed > 0 {
		fmt.Fprintf(e.Stdout, ", not queued %d", s.failed)
	}
	fmt.Fprintln(e.Stdout)
	if s.failed > 0 {
		return fmt.Errorf("%d rows could not be queued; run the import again (queued rows are not queued twice)", s.failed)
	}
	return invalidErr(s)
}

func invalidErr(s importSummary) error {
	if s.invalid == 0 {
		return nil
	}
	return fmt.Errorf("%s invalid, not queued; fix them and import the file again (queued rows are not queued twice)", rowCount(s.invalid))
}

// rowCount is "1 row" or "n rows".
func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// publishRows queues the valid rows that the ledger does not already know.
func publishRows(ctx context.Context, e *Env, cfg *config.Config, rows []importRow, s *importSummary) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	nc, js, err := connect(ctx, cfg, "omq import")
	if err != nil {
		return err
	}
	defer nc.Close()
	top := cfg.Topology()
	ledger, err := natsCall(ctx, e, "open the ledger", func(ctx context.Context) (*properties.Ledger, error) { return properties.OpenLedger(ctx, js, top) })
	if err != nil {
		return err
	}
	tp, flush, err := startTracing(ctx, cfg)
	if err != nil {
		return err
	}
	defer flush()
	// Rows of an import are bulk work: live events go first (README, Lanes).
	pub, err := publisher.New(nc, publisher.WithPrefix(top.Prefix), publisher.WithLane(events.LaneBulk), publisher.WithTracerProvider(tp))
	if err != nil {
		return err
	}
	bar := newBar(e.Stderr, len(rows), "queueing")
	batch := pub.NewBatch()
	for _, r := range rows {
		_, lerr := natsCall(ctx, e, "line "+strconv.Itoa(r.Line)+": read the ledger", func(ctx context.Context) (struct{}, error) {
			_, _, err := ledger.Get(ctx, r.Creation.RequestID)
			return struct{}{}, err
		})
		switch {
		case lerr == nil:
			s.already++ // created, pending or refused: the ledger knows it
		case errors.Is(lerr, properties.ErrNoEntry):
			if _, err := batch.AddProperty(ctx, r.Creation); err != nil {
				s.failed++
				fmt.Fprintf(e.Stderr, "line %d: not queued: %v\n", r.Line, err)
			}
		default:
			return lerr
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	res := batch.Flush(ctx)
	if bar != nil {
		_ = bar.Finish()
	}
	dups := res.Duplicates()
	s.already += dups
	s.queued += len(res.Acks) - dups
	for _, f := range res.Failures {
		s.failed++
		fmt.Fprintf(e.Stderr, "request %s: not queued: %v\n", f.ID, natserr.Explain(f.Err))
	}
	return nil
}

// newBar is a progress bar on w when w is a terminal, else nil.
func newBar(w io.Writer, n int, what string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) || n < 2 {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
		progressbar.OptionClearOnFinish())
}
