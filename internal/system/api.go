package system

import (
	"context"
	"log/slog"

	"github.com/openmoove/omq/internal/config"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// apiHandle is the OpenMoove client and, in sandbox mode, the sandbox it
// talks to.
type apiHandle struct {
	client  *openmoove.Client
	config  openmoove.Config
	sandbox *sandbox.Server
}

func startAPI(ctx context.Context, cfg config.Config, tweak func(*sandbox.Config), log *slog.Logger) (*apiHandle, error) {
	h := &apiHandle{}
	if cfg.Sandbox() {
		sb, key, err := startSandbox(ctx, cfg, tweak, log)
		if err != nil {
			return nil, err
		}
		h.sandbox = sb
		h.config = openmoove.Config{BaseURL: sb.URL(), APIKey: key}
	} else {
		h.config = openmoove.Config{BaseURL: cfg.OpenMooveURL, APIKey: cfg.OpenMooveAPIKey}
		log.Info("using the OpenMoove API", "url", cfg.OpenMooveURL)
	}
	c, err := openmoove.New(h.config)
	if err != nil {
		if h.sandbox != nil {
			_ = h.sandbox.Close(ctx)
		}
		return nil, err
	}
	h.client = c
	return h, nil
}

func (h *apiHandle) sandboxURL() string {
	if h == nil || h.sandbox == nil {
		return ""
	}
	return h.sandbox.URL()
}

func (h *apiHandle) close(ctx context.Context) error {
	if h.sandbox == nil {
		return nil
	}
	return h.sandbox.Close(ctx)
}
