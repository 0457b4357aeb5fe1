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
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Status is what omq status --json prints.
type Status struct {
	Streams     []StreamStatus          `json:"streams"`
	Budget      *BudgetStatus           `json:"budget,omitempty"`
	Breakers    []workers.BreakerStatus `json:"breakers"`
	DeadLetters DLQStatus               `json:"dead_letters"`
}

// BudgetStatus is the shared API budget in omq status --json.
type BudgetStatus struct {
	HourLeft     int        `json:"hour_left"`
	PerHour      int        `json:"per_hour"`
	MinuteLeft   int        `json:"minute_left"`
	PerMinute    int        `json:"per_minute"`
	StoppedUntil *time.Time `json:"stopped_until,omitempty"`
}

// DLQStatus sums up the dead-letter stream in omq status --json.
type DLQStatus struct {
	Count    uint64  `json:"count"`
	Bytes    uint64  `json:"bytes"`
	MaxBytes int64   `json:"max_bytes"`
	Fill     float64 `json:"fill"` // 0..1 of MaxBytes
}

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
		Long: `Show each of omq's streams with its message count and size, each consumer
with what it has pending, in flight and redelivered, and whether it is
paused (the breaker pauses a consumer while the API is down); then the API
budget every replica shares, any open breaker with its reason, and the
dead letters waiting for a person.`,
		Example: `  omq status
  omq status --json | jq '.streams[] | {name, messages}'
  omq status --nats-url nats://nats-1:4222`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupLayout, config.GroupWorkers)
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
		top := cfg.Topology()
		ss, err := readStatus(ctx, js, top)
		if err != nil {
			return err
		}
		st := Status{Streams: ss, Breakers: []workers.BreakerStatus{}}
		st.DeadLetters = dlqStatus(ss, top)
		if b, err := budget.New(ctx, js, top, budget.Limits{PerHour: cfg.BudgetPerHour, PerMinute: cfg.BudgetPerMinute}); err == nil {
			if snap, err := b.Snapshot(ctx); err == nil {
				bs := &BudgetStatus{HourLeft: snap.HourLeft, PerHour: cfg.BudgetPerHour, MinuteLeft: snap.MinuteLeft, PerMinute: cfg.BudgetPerMinute}
				if !snap.StoppedUntil.IsZero() {
					bs.StoppedUntil = &snap.StoppedUntil
				}
				st.Budget = bs
			}
		}
		if br, err := workers.Breakers(ctx, js, top); err == nil && br != nil {
			st.Breakers = br
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

func dlqStatus(ss []StreamStatus, top streams.Topology) DLQStatus {
	for _, s := range ss {
		if s.Name == top.DLQStream() {
			d := DLQStatus{Count: s.Messages, Bytes: s.Bytes, MaxBytes: top.DLQMaxBytes}
			if d.MaxBytes > 0 {
				d.Fill = float64(d.Bytes) / float64(d.MaxBytes)
			}
			return d
		}
	}
	return DLQStatus{MaxBytes: top.DLQMaxBytes}
}

func printStatus(e *Env, full Status) {
	st := full.Streams
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
	fmt.Fprintln(e.Stdout)
	if b := full.Budget; b != nil {
		line := fmt.Sprintf("API budget:    %d of %d left this hour, %d of %d this minute", b.HourLeft, b.PerHour, b.MinuteLeft, b.PerMinute)
		if b.StoppedUntil != nil {
			line += fmt.Sprintf("; stopped by a 429 until %s", b.StoppedUntil.Local().Format(time.TimeOnly))
		}
		fmt.Fprintln(e.Stdout, line)
	}
	open := 0
	for _, b := range full.Breakers {
		if b.Open {
			open++
			fmt.Fprintf(e.Stdout, "Breaker open:  %s paused until %s (%s)\n", b.Worker, b.Until.Local().Format(time.TimeOnly), b.Reason)
		}
	}
	if open == 0 {
		fmt.Fprintln(e.Stdout, "Breakers:      all closed (the API answers)")
	}
	d := full.DeadLetters
	fmt.Fprintf(e.Stdout, "Dead letters:  %d (%d bytes, %.1f%% of the DLQ's limit)", d.Count, d.Bytes, 100*d.Fill)
	if d.Count > 0 {
		fmt.Fprint(e.Stdout, "; see omq dlq list")
	}
	fmt.Fprintln(e.Stdout)
}
