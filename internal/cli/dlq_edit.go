package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

func newDLQEditCmd(e *Env) *cobra.Command {
	var (
		bodyFile string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "edit ID",
		Short: "Fix a dead letter's body in your editor, validate it, then replay it",
		Long: `Open the body of a dead letter in $VISUAL or $EDITOR (vi if neither is
set), pretty-printed when it is JSON. When the editor exits, the new body
is validated as its original subject requires (a property creation must
pass the API's own checks; an event needs type and transaction_id) and,
if valid, replayed like omq dlq replay ID and the dead letter deleted.

An invalid body is not replayed: the validation error is printed, the
dead letter stays as it was, your edit is kept in a file named in the
message, and the exit status is 1. Leaving the body unchanged or empty
replays nothing (exit status 0).

--body FILE replays the body of FILE ("-" for standard input) without an
editor, with the same validation.`,
		Example: `  omq dlq edit 42
  EDITOR=nano omq dlq edit 42
  omq dlq edit 42 --body fixed.json --dry-run   # validate only
  omq dlq show 42 --json | jq '.data | .phone_number = "+447700900123"' | omq dlq edit 42 --body -`,
		Args: cobra.ExactArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().StringVar(&bodyFile, "body", "", `take the new body from this file ("-" for standard input) instead of an editor`)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate the new body; replay nothing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ids, err := parseIDs(cmd, args)
		if err != nil {
			return err
		}
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(cmd.Context())
		defer cancel()
		s, err := openDLQ(ctx, cfg, "omq dlq edit")
		if err != nil {
			return err
		}
		defer s.Close()
		ls, err := requireLetters(ctx, cmd, s.store, ids)
		if err != nil {
			return err
		}
		l := ls[0]
		var body []byte
		saved := ""
		if bodyFile != "" {
			body, err = readBody(e, bodyFile)
		} else {
			body, saved, err = editBody(ctx, e, l)
		}
		if err != nil {
			return err
		}
		body = bytes.TrimSpace(body)
		if len(body) == 0 || bytes.Equal(body, bytes.TrimSpace(l.Data)) || (saved != "" && sameJSON(body, l.Data)) {
			removeFile(saved)
			fmt.Fprintf(e.Stdout, "the body is unchanged or empty: nothing replayed; dead letter %d is still in the DLQ (omq dlq replay %d replays it as it is)\n", l.ID, l.ID)
			return nil
		}
		if json.Valid(body) {
			var c bytes.Buffer
			_ = json.Compact(&c, body) // valid, cannot fail
			body = c.Bytes()
		}
		r, err := s.store.Replay(ctx, l.ID, deadletter.ReplayOptions{Body: body, DryRun: dryRun})
		if !dryRun {
			// As the console does: an edit refused as invalid is on the
			// trail too, with its diff.
			auditCLI(ctx, e, s.js, cfg, audit.Entry{Kind: "dlq.edit", Target: fmt.Sprint(l.ID), Count: replayedCount(err),
				Diff: deadletter.DiffText(deadletter.Diff(l.Data, body))}, err)
		}
		var ibe *deadletter.InvalidBodyError
		if errors.As(err, &ibe) {
			printInvalid(e.Stderr, ibe)
			keep := ""
			if saved != "" {
				keep = "; your edit is kept in " + saved
			}
			return fmt.Errorf("dead letter %d not replayed: its new body is invalid; it is still in the DLQ, unchanged%s", l.ID, keep)
		}
		if err != nil {
			return err
		}
		removeFile(saved)
		if r.DryRun {
			fmt.Fprintf(e.Stdout, "the new body is valid; dry run: dead letter %d would be replayed to %s as %s; nothing was changed\n", l.ID, r.Subject, r.MsgID)
			return nil
		}
		fmt.Fprintf(e.Stdout, "replayed %d with the new body to %s as %s (%s #%d)\n", l.ID, r.Subject, r.MsgID, r.Stream, r.Seq)
		return nil
	}
	return cmd
}

func readBody(e *Env, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(e.Stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageErrorf("--body: %v", err)
	}
	return b, nil
}

// editBody writes l's body to a temporary file, runs the editor on it and
// reads it back. The file is left for the caller to remove.
func editBody(ctx context.Context, e *Env, l deadletter.Letter) (body []byte, path string, err error) {
	editor, _ := e.lookupEnv("VISUAL")
	if strings.TrimSpace(editor) == "" {
		editor, _ = e.lookupEnv("EDITOR")
	}
	if strings.TrimSpace(editor) == "" {
		editor = "vi"
	}
	f, err := os.CreateTemp("", fmt.Sprintf("omq-dlq-%d-*.json", l.ID))
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	content := l.Data
	var pretty bytes.Buffer
	if json.Indent(&pretty, l.Data, "", "  ") == nil {
		content = append(pretty.Bytes(), '\n')
	}
	if _, err := f.Write(content); err != nil {
		return nil, "", err
	}
	if err := f.Close(); err != nil {
		return nil, "", err
	}
	// $EDITOR may carry arguments ("code --wait").
	argv := append(strings.Fields(editor), f.Name())
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = e.Stdin, e.Stdout, e.Stderr
	if err := c.Run(); err != nil {
		removeFile(f.Name())
		return nil, "", fmt.Errorf("editor %q: %w; nothing was changed (set VISUAL or EDITOR to your editor)", editor, err)
	}
	body, err = os.ReadFile(f.Name())
	return body, f.Name(), err
}

func removeFile(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

// sameJSON reports whether a and b are the same JSON once compacted, so
// that a pretty-printed body saved untouched counts as unchanged.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

func printInvalid(w io.Writer, ibe *deadletter.InvalidBodyError) {
	fmt.Fprintf(w, "The new body for %s is invalid:\n", ibe.Subject)
	head, items := splitError(ibe.Err.Error())
	if len(items) == 0 {
		fmt.Fprintf(w, "  - %s\n", head)
	}
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", it)
	}
}

// replayedCount is how many letters a single replay touched.
func replayedCount(err error) int {
	if err != nil {
		return 0
	}
	return 1
}
