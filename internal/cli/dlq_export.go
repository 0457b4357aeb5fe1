package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
)

func newDLQExportCmd(e *Env) *cobra.Command {
	var (
		ff     dlqFilterFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "export [filters]",
		Short: "Write dead letters as JSON lines, to keep or to study",
		Long: `Write the dead letters the filters select (all of them with none) as JSON
lines, oldest first: one object a line with id, subject, original_subject,
original_stream, original_seq, original_msg_id, deliveries, kind, error,
errors (the history), failed_at, worker, headers and data (the body, inline
when it is JSON, else base64 in data_base64). Export changes nothing; take
one before a purge.`,
		Example: `  omq dlq export > dlq.jsonl
  omq dlq export --kind permanent --since 7d --output permanent.jsonl
  omq dlq export --subject openmoove.commands.create_property | jq -r '.data.email'`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	ff.bind(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (mode 0600: dead letters hold personal data) instead of standard output")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		f, err := ff.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Minute)
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq export")
		if err != nil {
			return err
		}
		defer s.Close()
		if err := storeUsage(cmd, s.store, f); err != nil {
			return err
		}
		var w io.Writer = e.Stdout
		var file *os.File
		if output != "" {
			if file, err = createPrivate(output); err != nil {
				return usageErrorf("--output: %v", err)
			}
			defer file.Close()
			w = file
		}
		n, err := s.store.Export(ctx, w, f)
		if err != nil {
			return err
		}
		if file != nil {
			if err := file.Close(); err != nil {
				return err
			}
			fmt.Fprintf(e.Stderr, "exported %s to %s\n", plural(n, "dead letter"), output)
		} else {
			fmt.Fprintf(e.Stderr, "exported %s\n", plural(n, "dead letter"))
		}
		return nil
	}
	return cmd
}

// createPrivate creates or truncates path readable by its owner only: dead
// letters hold names, emails and phone numbers. A file that existed with a
// looser mode is narrowed too, before anything is written to it.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
