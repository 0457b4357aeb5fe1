package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/audit"
)

// auditCLI appends an action taken with omq to the same AUDIT stream the
// console writes, with the OS user as who. A trail that cannot be written
// is said on stderr, not made the command's failure: the action already
// ran, and its own result is what the exit status reports.
func auditCLI(ctx context.Context, e *Env, js jetstream.JetStream, cfg *config.Config, a audit.Entry, err error) {
	a.At, a.User, a.Role, a.Result = time.Now().UTC(), audit.CLIUser(), audit.CLIRole, audit.Result(err)
	// Written even when the action was cancelled, but under the command's
	// NATS deadline: a store that does not answer must not hold omq.
	_, aerr := natsCall(context.WithoutCancel(ctx), e, "append to the audit trail", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, audit.Append(ctx, js, cfg.Topology(), a)
	})
	if aerr != nil {
		fmt.Fprintf(e.Stderr, "warning: not on the audit trail: %v\n", aerr)
	}
}
