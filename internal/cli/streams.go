package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/internal/retry"
	"github.com/openmoove/omq/streams"
)

// errCodeReplicasNotClustered is the JetStream API error code of "replicas
// > 1 not supported in non-clustered mode".
const errCodeReplicasNotClustered jetstream.ErrorCode = 10074

func newStreamsCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Manage omq's JetStream streams and buckets",
		Example: `  omq streams apply
  omq streams apply --nats-url nats://nats-1:4222 --replicas 3`,
	}
	cmd.AddCommand(newStreamsApplyCmd(e))
	return cmd
}

func newStreamsApplyCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Create or update every stream and bucket to omq's desired settings",
		Long: `Create every stream and key-value bucket omq needs, or update them to the
desired settings. Running it again changes nothing. A drifted setting is
corrected and printed; a setting that cannot be changed in place (storage,
retention) is reported with what to do, and the command exits 1.

--replicas is what new streams and buckets get, and what existing ones
are raised to; an existing higher count is kept (and printed) unless
--lower-replicas is given, so a cluster's R3 streams never drop to R1
because a flag was left out. Right after a cluster starts, the command
waits up to a minute for a JetStream leader.`,
		Example: `  omq streams apply                                   # the embedded server of a running omq
  omq streams apply --nats-url nats://nats-1:4222 --replicas 3
  omq streams apply --nats-url nats://nats-1:4222 --replicas 1 --lower-replicas`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupLayout)
	var lower bool
	cmd.Flags().BoolVar(&lower, "lower-replicas", false, "lower the replicas of existing streams and buckets to --replicas (otherwise a higher count is kept)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		nc, js, err := connect(ctx, cfg, "omq streams apply")
		if err != nil {
			return err
		}
		defer nc.Close()
		top := cfg.Topology()
		top.LowerReplicas = lower
		results, err := applyWhenLeader(ctx, e, js, top)
		for _, r := range results {
			fmt.Fprintf(e.Stdout, "%-24s %s\n", r.Name, r.Action)
			for _, c := range r.Changes {
				fmt.Fprintf(e.Stdout, "  %s: %s -> %s\n", c.Setting, c.Was, c.Now)
			}
			for _, c := range r.Kept {
				fmt.Fprintf(e.Stdout, "  %s: %s kept (--replicas %s; add --lower-replicas to lower)\n", c.Setting, c.Was, c.Now)
			}
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeReplicasNotClustered {
			// One line instead of the same server error for every stream and bucket.
			return usageErrorf("--replicas %d: this NATS server is not clustered, so its streams keep 1 replica; run against a cluster (see deploy/) or with --replicas 1", cfg.Replicas)
		}
		return err
	}
	return cmd
}

// applyWhenLeader applies top, trying again while the cluster has no
// JetStream leader yet (just started, or electing after a node left):
// that is a wait of seconds, not an error to report. Each try has its own
// deadline, so a request the cluster never answers cannot hold the
// command until its own.
func applyWhenLeader(ctx context.Context, e *Env, js jetstream.JetStream, top streams.Topology) ([]streams.Result, error) {
	// noLeader is the last "no leader" answer: when the command's own
	// deadline then cuts a try short, that answer, not the deadline, is
	// the cause to report.
	var noLeader error
	explain := func(err error) error {
		if noLeader != nil && ctx.Err() != nil && natserr.TimedOut(err) && !natserr.NoLeader(err) {
			return natserr.Explain(noLeader)
		}
		return natserr.Explain(err)
	}
	for {
		tctx, cancel := context.WithTimeout(ctx, e.natsTimeout())
		results, err := streams.Apply(tctx, js, top, nil)
		cancel()
		if natserr.NoLeader(err) {
			noLeader = err
		}
		if err == nil || !(natserr.NoLeader(err) || natserr.TimedOut(err)) || ctx.Err() != nil {
			return results, explain(err)
		}
		fmt.Fprintln(e.Stderr, "no JetStream leader yet: the cluster is still electing; retrying in a second")
		if !retry.Sleep(ctx, time.Second) {
			return results, explain(err)
		}
	}
}
