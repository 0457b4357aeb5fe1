package workers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/workers"
)

// A worker of one's own, written outside omq with public packages only: a
// handler, a subject and a consumer name on omq's EVENTS stream. It
// handles what a test publishes and reports it; what it refuses as
// Permanent is dead-lettered with its reason.
func TestCustomWorker(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("properties")) // not milestones: it would consume the events too
	subject := omq.Topology.EventSubject("inventory_checked")
	handled := make(chan string, 1)
	cfg := workers.Config{
		Name:     "inventory",
		Stream:   omq.Topology.EventsStream(),
		Subjects: []string{subject},
		Topology: omq.Topology,
		Handler: func(ctx context.Context, m *workers.Message) error {
			if string(m.Data) == "broken" {
				return failure.PermanentError(fmt.Errorf("inventory: body %q is not an inventory check", m.Data))
			}
			handled <- string(m.Data)
			return nil
		},
	}
	w, err := workers.New(omq.JS, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(ctx))
	})

	_, err = omq.JS.Publish(t.Context(), subject, []byte("shelf 7"))
	require.NoError(t, err)
	select {
	case got := <-handled:
		require.Equal(t, "shelf 7", got)
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not handle the message within 10s")
	}

	_, err = omq.JS.Publish(t.Context(), subject, []byte("broken"))
	require.NoError(t, err)
	l := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Subject: subject})
	require.Equal(t, "inventory", l.Worker)
	require.Equal(t, "permanent", l.Kind)
	require.Contains(t, l.Error, "is not an inventory check")
	require.Equal(t, subject, l.OriginalSubject)
}
