package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/imports"
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
		file, rows, err := imports.Load(cfg, args[0], format)
		if err != nil {
			return err
		}
		return runImport(cmd.Context(), e, cfg, file, rows, dryRun)
	}
	cmd.AddCommand(newImportStatusCmd(e))
	return cmd
}

func runImport(ctx context.Context, e *Env, cfg *config.Config, file imports.File, rows []imports.Row, dryRun bool) error {
	valid := 0
	for _, r := range rows {
		if r.Valid() {
			valid++
			continue
		}
		fmt.Fprintf(e.Stderr, "line %d: %s\n", r.Line, r.Problems())
	}
	if dryRun {
		invalid := len(rows) - valid
		fmt.Fprintf(e.Stdout, "dry run: %d valid, %d invalid; nothing queued\n", valid, invalid)
		if invalid > 0 {
			return fmt.Errorf("%s invalid; fix them, then import without --dry-run", rowCount(invalid))
		}
		return nil
	}
	s := imports.Summary{Invalid: len(rows) - valid}
	if valid > 0 {
		var err error
		if s, err = queueImport(ctx, e, cfg, file, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Stdout, "queued %d, invalid %d, already queued %d", s.Queued, s.Invalid, s.Already)
	if s.Failed > 0 {
		fmt.Fprintf(e.Stdout, ", not queued %d", s.Failed)
	}
	fmt.Fprintln(e.Stdout)
	if s.Failed > 0 {
		return fmt.Errorf("%d rows could not be queued; run the import again (queued rows are not queued twice)", s.Failed)
	}
	return invalidErr(s)
}

func invalidErr(s imports.Summary) error {
	if s.Invalid == 0 {
		return nil
	}
	return fmt.Errorf("%s invalid, not queued; fix them and import the file again (queued rows are not queued twice)", rowCount(s.Invalid))
}

// rowCount is "1 row" or "n rows".
func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// queueImport queues the valid rows the ledger does not already know,
// records the file in the IMPORTS bucket for the console's Imports page,
// and puts the import on the audit trail.
func queueImport(ctx context.Context, e *Env, cfg *config.Config, file imports.File, rows []imports.Row) (imports.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	nc, js, err := connect(ctx, cfg, "omq import")
	if err != nil {
		return imports.Summary{}, err
	}
	defer nc.Close()
	top := cfg.Topology()
	bar := newBar(e.Stderr, len(rows)-invalidRows(rows), "queueing")
	opts := imports.QueueOptions{Timeout: e.natsTimeout(), NotQueued: func(what string, err error) {
		fmt.Fprintf(e.Stderr, "%s: not queued: %v\n", what, err)
	}}
	if bar != nil {
		opts.Row = func() { _ = bar.Add(1) }
	}
	tp, flush, err := startTracing(ctx, cfg)
	if err != nil {
		return imports.Summary{}, err
	}
	defer flush()
	opts.TracerProvider = tp
	s, err := imports.Queue(ctx, nc, js, top, rows, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	auditCLI(ctx, e, js, cfg, audit.Entry{Kind: "import", Target: file.Name + " (" + file.ID + ")",
		Count: s.Queued, Filter: fmt.Sprintf("%d rows: %d invalid, %d already queued, %d not queued", len(rows), s.Invalid, s.Already, s.Failed)}, err)
	if err != nil {
		return s, err
	}
	if _, err := natsCall(ctx, e, "record the import", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, recordImport(ctx, js, cfg, file, rows, s)
	}); err != nil {
		fmt.Fprintf(e.Stderr, "warning: the import is queued but not recorded for the console's Imports page: %v\n", err)
	}
	return s, nil
}

func recordImport(ctx context.Context, js jetstream.JetStream, cfg *config.Config, file imports.File, rows []imports.Row, s imports.Summary) error {
	store, err := imports.OpenStore(ctx, js, cfg.Topology())
	if err != nil {
		return err
	}
	_, err = store.Save(ctx, file, audit.CLIUser(), time.Now(), rows, s)
	return err
}

func invalidRows(rows []imports.Row) int {
	n := 0
	for _, r := range rows {
		if !r.Valid() {
			n++
		}
	}
	return n
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
