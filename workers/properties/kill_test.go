package properties_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

// TestKilledAfterTheAPIAnsweredCreatesOnce runs two replicas of the real
// property worker on one durable consumer. The first dies (its NATS
// connection closes) after the API answered 201 and before the ledger write
// and the ack; the message comes back after AckWait to the second, which
// finds the property instead of creating another. Duplicate publishes of
// the same request_id add nothing.
func TestKilledAfterTheAPIAnsweredCreatesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, top := testkit.JetStream(t, natstest.Listen())
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})

	settings := config.Defaults()
	settings.AckWait, settings.Concurrency = time.Second, 2
	settings.InProcessRetryWindow, settings.RetryMin, settings.RetryMax = 200*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond

	replica := func(afterCreate func(context.Context, string) error) (*properties.Worker, *nats.Conn) {
		nc, err := nats.Connect(ns.URL, ns.ClientOptions()...)
		require.NoError(t, err)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		w, err := properties.New(ctx, properties.Options{Worker: settings.Worker(), JS: js, Topology: top, API: api, AfterCreate: afterCreate})
		require.NoError(t, err)
		require.NoError(t, w.Start(ctx))
		return w, nc
	}
	var died atomic.Bool
	var nc1 *nats.Conn
	var w1 *properties.Worker
	w1, nc1 = replica(func(context.Context, string) error {
		if died.CompareAndSwap(false, true) {
			nc1.Close() // the process is gone: no ledger write, no ack, no nak
			return errors.New("killed after the API answered")
		}
		return nil
	})
	t.Cleanup(func() { _ = w1.Stop(context.Background()) })

	pub, err := publisher.New(ns.Conn)
	require.NoError(t, err)
	c := creation(7, "crm-kill")
	for range 3 { // duplicate publishes
		_, err = pub.CreateProperty(ctx, c)
		require.NoError(t, err)
	}
	require.Eventually(t, died.Load, 5*time.Second, 10*time.Millisecond)
	require.Len(t, sb.Properties(), 1, "the dead replica's call created the property")

	w2, nc2 := replica(nil)
	t.Cleanup(func() { _ = w2.Stop(context.Background()); nc2.Close() })

	ledger, err := properties.OpenLedger(ctx, ns.JS, top)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		e, _, err := ledger.Get(ctx, "crm-kill")
		return err == nil && e.State == properties.StateCreated
	}, 10*time.Second, 20*time.Millisecond)
	e, _, err := ledger.Get(ctx, "crm-kill")
	require.NoError(t, err)
	require.True(t, e.Reconciled, "the second replica found the property instead of creating one")
	require.Len(t, sb.Properties(), 1)
	require.Equal(t, sb.Properties()[0].TransactionID, e.TransactionID)

	// Publishing the same request_id again, after the dedupe window would
	// have let it through, still creates nothing.
	_, err = ns.JS.Publish(ctx, top.CreatePropertySubject(), mustMarshal(t, c))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, err := ns.JS.Stream(ctx, top.CommandsStream())
		require.NoError(t, err)
		info, err := s.Info(ctx)
		require.NoError(t, err)
		return info.State.Msgs == 0
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, sb.Properties(), 1)
	b := &bundle{js: ns.JS, top: top}
	require.Len(t, b.outcomes(t, events.OutcomePropertyCreated), 1)
}

func mustMarshal(t *testing.T, c events.CreateProperty) []byte {
	t.Helper()
	b, err := c.Marshal()
	require.NoError(t, err)
	return b
}
