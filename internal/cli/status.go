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

	"github.com/openmoove/omq/internal/config"
	"github.com/openmoove/omq/internal/streams"
)

// StreamStatus is one stream in omq status --json.
type StreamStatus struct {
	Name      string           `json:"name"`
	Messages  uint64           `json:"messages"`
	Bytes     uint64           `json:"bytes"`
	LastSeq   uint64           `json:"last_seq"`
	Missing   bool             `json:"missing,omitempty"`
	Consumers []ConsumerStatus `json:"consumers"`
}

// ConsumerStatus is one consumer in omq status --json.
type ConsumerStatus struct {
	Name        string     `json:"name"`
	Pending     uint64     `json:"pending"`
	AckPending  int        `json:"ack_pending"`
	Redelivered int        `json:"redelivered"`
	Waiting     int        `json:"waiting"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
}

func newStatusCmd(e *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show omq's streams, their messages and consumers",
		Long: `Show each of omq's streams with its message count and size, and each
consumer with what it has pending, in flight and redelivered, and whether
it is paused (the breaker pauses a consumer while the API is down).`,
		Example: `  omq status
  omq status --json | jq '.[] | {name, messages}'
  omq status --nats-url nats://nats-1:4222`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq status")
		if err != nil {
			return err
		}
		defer nc.Close()
		st, err := readStatus(ctx, js, streams.New(cfg.SubjectPrefix))
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(e.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		printStatus(e, st)
		return nil
	}
	return cmd
}

func readStatus(ctx context.Context, js jetstream.JetStream, top streams.Topology) ([]StreamStatus, error) {
	var out []StreamStatus
	for _, sc := range top.Streams() {
		s, err := js.Stream(ctx, sc.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			out = append(out, StreamStatus{Name: sc.Name, Missing: true})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		state := s.CachedInfo().State
		ss := StreamStatus{Name: sc.Name, Messages: state.Msgs, Bytes: state.Bytes, LastSeq: state.LastSeq, Consumers: []ConsumerStatus{}}
		infos := s.ListConsumers(ctx)
		for ci := range infos.Info() {
			cs := ConsumerStatus{Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending,
				Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting}
			if ci.Paused {
				until := ci.Config.PauseUntil
				cs.PausedUntil = until
			}
			ss.Consumers = append(ss.Consumers, cs)
		}
		if err := infos.Err(); err != nil {
			return nil, fmt.Errorf("consumers of %s: %w", sc.Name, err)
		}
		out = append(out, ss)
	}
	return out, nil
}

func printStatus(e *Env, st []StreamStatus) {
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tSEEN")
	for _, s := range st {
		if s.Missing {
			fmt.Fprintf(tw, "%s\tmissing (run omq streams apply)\t\t\n", s.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", s.Name, s.Messages, s.Bytes, s.LastSeq)
	}
	tw.Flush()
	fmt.Fprintln(e.Stdout)
	tw = tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tSTREAM\tPENDING\tIN FLIGHT\tREDELIVERED\tSTATE")
	n := 0
	for _, s := range st {
		for _, c := range s.Consumers {
			state := "running"
			if c.PausedUntil != nil {
				state = "paused until " + c.PausedUntil.Local().Format(time.TimeOnly)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", c.Name, s.Name, c.Pending, c.AckPending, c.Redelivered, state)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(tw, "(none yet)\t\t\t\t\t")
	}
	tw.Flush()
}
