package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
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
retention) is reported with what to do, and the command exits 1.`,
		Example: `  omq streams apply                                   # the embedded server of a running omq
  omq streams apply --nats-url nats://nats-1:4222 --replicas 3`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupLayout)
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
		results, err := streams.Apply(ctx, js, top, nil)
		for _, r := range results {
			fmt.Fprintf(e.Stdout, "%-24s %s\n", r.Name, r.Action)
			for _, c := range r.Changes {
				fmt.Fprintf(e.Stdout, "  %s: %s -> %s\n", c.Setting, c.Was, c.Now)
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
