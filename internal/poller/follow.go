package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/lifecycle"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/streams"
)

// FollowName is the durable consumer on the outcomes stream through which
// the poller learns of every property omq created.
const FollowName = "poller-track"

// Follower tracks every property the property worker created: it consumes
// property_created outcomes (a durable consumer, FollowName, on the
// OUTCOMES stream, which keeps them 30 days, so a poller that was down
// catches up) and adds each to the Store. It is a workers.Component.
type Follower struct {
	js    jetstream.JetStream
	top   streams.Topology
	store *Store
	log   *slog.Logger
	cc    jetstream.ConsumeContext
	once  lifecycle.Once
}

// FollowerOptions build a Follower. JS is required.
type FollowerOptions struct {
	JS       jetstream.JetStream
	Topology streams.Topology // Default streams.New(streams.DefaultPrefix).
	// Store is the TRACKING bucket. Default: opened from JS and Topology.
	Store  *Store
	Logger *slog.Logger // Default: discard.
}

// NewFollower returns a Follower; Start creates its consumer.
func NewFollower(ctx context.Context, o FollowerOptions) (*Follower, error) {
	if o.JS == nil {
		return nil, errors.New("poller: FollowerOptions.JS is required")
	}
	top := o.Topology.WithDefaults()
	if o.Store == nil {
		store, err := OpenStore(ctx, o.JS, top)
		if err != nil {
			return nil, err
		}
		o.Store = store
	}
	if o.Logger == nil {
		o.Logger = logging.Discard()
	}
	return &Follower{js: o.JS, top: top, store: o.Store, log: o.Logger.With(logging.KeyComponent, "poller")}, nil
}

// Name is FollowName.
func (f *Follower) Name() string { return FollowName }

// Start creates or updates the consumer and starts consuming.
func (f *Follower) Start(ctx context.Context) error {
	cons, err := f.js.CreateOrUpdateConsumer(ctx, f.top.OutcomesStream(), jetstream.ConsumerConfig{
		Durable: FollowName, Description: "the poller tracks every property omq created",
		FilterSubject: f.top.OutcomeSubject(events.OutcomePropertyCreated),
		AckPolicy:     jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait: 30 * time.Second, MaxDeliver: 20,
	})
	if err != nil {
		return fmt.Errorf("poller: consumer %s: %w", FollowName, err)
	}
	f.cc, err = cons.Consume(f.handle, jetstream.PullMaxMessages(16))
	return err
}

func (f *Follower) handle(msg jetstream.Msg) {
	o, err := events.ParseOutcome(msg.Data())
	if err != nil || o.TransactionID == "" {
		f.log.Warn("property_created outcome without a transaction; not tracked", logging.KeyError, err)
		_ = msg.Term()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	added, err := f.store.Track(ctx, o.TransactionID, o.PropertyID, SourceCreated, time.Now())
	if err != nil {
		f.log.Warn("cannot track created property; retrying", logging.KeyTx, o.TransactionID, logging.KeyError, err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	if added {
		f.log.Info("tracking created property", logging.KeyTx, o.TransactionID, "property_id", o.PropertyID)
	}
	_ = msg.Ack()
}

// Stop stops consuming and waits, within ctx, for the handler in flight;
// a message it had not acked is delivered again. A second call returns the
// first call's result.
func (f *Follower) Stop(ctx context.Context) error {
	return f.once.Do(func() error {
		if f.cc == nil {
			return nil
		}
		f.cc.Stop()
		return lifecycle.Wait(ctx, f.cc.Closed(), "poller: "+FollowName,
			func() string { return "a property_created outcome still being tracked" })
	})
}
