package webhook

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/webhooks"
)

// FromSettings registers the receiver on mux and returns the webhook worker
// to start; without --webhook-secret it logs that webhooks are off and
// returns nil, nil.
func FromSettings(ctx context.Context, c config.Config, mux *http.ServeMux, js jetstream.JetStream, top streams.Topology, api *openmoove.Client, log *slog.Logger, reg prometheus.Registerer) (*workers.Worker, error) {
	r, err := Register(mux, Options{Secrets: c.WebhookSecrets, MaxBytes: int64(c.WebhookMaxBytes), JS: js, Topology: top, Logger: log, Metrics: reg})
	if err != nil || r == nil {
		return nil, err
	}
	w, _, err := webhooks.New(ctx, webhooks.Options{Config: c, JS: js, API: api, Topology: top, Logger: log, Metrics: reg})
	return w, err
}
