package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/properties"
)

func newImportStatusCmd(e *Env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status FILE",
		Short: "Show where each row of an imported file stands",
		Long: `Read FILE as omq import does (same request_ids) and report each row:
created (with the transaction id), failed (with the reason, from the
ledger or the dead-letter queue), pending (queued or being created, not
created yet), not queued (valid, but no creation of it is queued: import
the file again), or invalid (never queued). A summary line ends the report.`,
		Example: `  omq import status instructions.csv
  omq import status migration.jsonl --nats-url nats://nats-1:4222`,
		Args: cobra.ExactArgs(1),
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupProperties)
	cmd.Flags().StringVar(&format, "format", "auto", "file format: auto, csv or jsonl")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		rows, err := loadImport(cfg, args[0], format)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq import status")
		if err != nil {
			return err
		}
		defer nc.Close()
		return importStatus(ctx, e, js, cfg.Topology(), rows)
	}
	return cmd
}

func importStatus(ctx context.Context, e *Env, js jetstream.JetStream, top streams.Topology, rows []importRow) error {
	ledger, err := properties.OpenLedger(ctx, js, top)
	if err != nil {
		return err
	}
	dead, err := deadCreations(ctx, js, top)
	if err != nil {
		return err
	}
	queued, err := queuedCreations(ctx, js, top)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tSTATUS\tREQUEST ID\tDETAIL")
	for _, r := range rows {
		status, detail := "invalid", r.problems()
		if r.valid() {
			status, detail, err = rowStatus(ctx, ledger, dead, queued, r.Creation.RequestID)
			if err != nil {
				return err
			}
		}
		counts[status]++
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Line, status, r.Creation.RequestID, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "created %d, failed %d, pending %d, not queued %d, invalid %d\n", counts["created"], counts["failed"], counts["pending"], counts[notQueued], counts["invalid"])
	return nil
}

// rowStatus reads one request_id's state: the ledger first, then the DLQ.
func rowStatus(ctx context.Context, ledger *properties.Ledger, dead map[string]deadletter.Letter, queued map[string]bool, id string) (string, string, error) {
	entry, _, err := ledger.Get(ctx, id)
	if err != nil && !errors.Is(err, properties.ErrNoEntry) {
		return "", "", err
	}
	if err == nil && entry.State == properties.StateCreated {
		return "created", fmt.Sprintf("transaction %s (property %d)", entry.TransactionID, entry.PropertyID), nil
	}
	if l, ok := dead[id]; ok {
		return "failed", fmt.Sprintf("%s (dead letter %d: omq dlq show %d)", l.Error, l.ID, l.ID), nil
	}
	if err == nil && entry.State == properties.StateRefused {
		return "failed", entry.Error, nil
	}
	if err == nil {
		return "pending", "being created since " + entry.At.Format(time.RFC3339), nil
	}
	if queued[id] {
		return "pending", "queued, waiting for the property worker", nil
	}
	return notQueued, "no creation of it is queued: run omq import on the file again (rows already queued are not queued twice)", nil
}

// notQueued is the state of a valid row of which omq knows nothing: the
// import stopped before it, or its publish failed. It used to read
// "pending … queued", which sent operators waiting for work that never
// existed.
const notQueued = "not queued"

// queuedCreations are the request_ids of the creations waiting in the
// commands stream. A work-queue stream allows no second consumer over the
// worker's subjects, so this reads the messages one by one, up to the
// stream's count when it began.
func queuedCreations(ctx context.Context, js jetstream.JetStream, top streams.Topology) (map[string]bool, error) {
	out := map[string]bool{}
	s, err := js.Stream(ctx, top.CommandsStream())
	if err != nil {
		return nil, fmt.Errorf("read the queued creations (%s): %w", top.CommandsStream(), natserr.Explain(err))
	}
	st := s.CachedInfo().State
	for seq, seen := st.FirstSeq, uint64(0); seq <= st.LastSeq && seen < st.Msgs; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // done and removed meanwhile, or a gap
		}
		if err != nil {
			return nil, fmt.Errorf("read the queued creations (%s #%d): %w", top.CommandsStream(), seq, natserr.Explain(err))
		}
		seen++
		var c struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(m.Data, &c) == nil && c.RequestID != "" {
			out[c.RequestID] = true
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
			out[id] = true
		}
	}
	return out, nil
}

// deadCreations maps request_id → the newest dead letter of a creation.
func deadCreations(ctx context.Context, js jetstream.JetStream, top streams.Topology) (map[string]deadletter.Letter, error) {
	out := map[string]deadletter.Letter{}
	store := deadletter.NewStore(js, top)
	err := store.Scan(ctx, deadletter.Filter{Subject: top.CreatePropertySubject()}, func(l deadletter.Letter) error {
		id := l.IdempotencyKey()
		if c, err := events.DecodeCreateProperty(l.Data); err == nil && c.RequestID != "" {
			id = c.RequestID
		}
		out[id] = l
		return nil
	})
	return out, err
}
