package system

import (
	"context"
	"errors"
	"log/slog"

	"github.com/openmoove/omq/internal/config"
)

// SandboxKey is the API key of the in-process sandbox. It is not a secret:
// the sandbox is a local simulator that accepts nothing else.
const SandboxKey = "om_sandbox_local_key"

func startSandbox(ctx context.Context, cfg config.Config, log *slog.Logger) (sandboxServer, string, error) {
	return nil, "", errors.New("sandbox not wired yet")
}
