package monitor

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/openmoove"
)

// FromSettings builds the monitor from omq's settings (--alert-every,
// --at-risk-within, --invitation-pending-days).
func FromSettings(ctx context.Context, c config.Config, js jetstream.JetStream, top streams.Topology, api *openmoove.Client, log *slog.Logger) (*Monitor, error) {
	store, err := poller.OpenStore(ctx, js, top)
	if err != nil {
		return nil, err
	}
	return New(Config{Store: store, API: api, JS: js, Topology: top, Every: c.AlertEvery, AtRiskWithin: c.AtRiskWithin,
		InvitationDays: c.InvitationPendingDays, Logger: log})
}
