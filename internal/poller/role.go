package poller

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/openmoove"
)

// FromSettings builds the poller role's two components from omq's
// settings: the Follower (tracks every created property) and the Poller.
// api must take the shared budget's tokens (omq's client does).
func FromSettings(ctx context.Context, c config.Config, js jetstream.JetStream, top streams.Topology, api *openmoove.Client, log *slog.Logger, reg prometheus.Registerer) (*Follower, *Poller, error) {
	store, err := OpenStore(ctx, js, top)
	if err != nil {
		return nil, nil, err
	}
	p, err := New(Config{Store: store, API: api, JS: js, Topology: top, Overdue: c.PollOverdue, DueSoon: c.PollDueSoon,
		Interval: c.PollInterval, ReadShare: c.PollReadShare, BudgetPerHour: c.BudgetPerHour, BudgetPerMinute: c.BudgetPerMinute, Logger: log, Metrics: reg})
	if err != nil {
		return nil, nil, err
	}
	return NewFollower(js, top, store, log), p, nil
}
