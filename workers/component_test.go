package workers

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// gathered reports whether reg still exports a metric named name.
func gathered(t *testing.T, reg *prometheus.Registry, name string) bool {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}

// A handler that ignores its context keeps the worker from stopping: Stop
// returns at its deadline with an error naming the worker and the handler
// still running, still unregisters its metrics, and says the same again.
func TestWorkerStopTimeoutNamesWhatDidNotStop(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	cfg := b.fastConfig("hangs", func(ctx context.Context, m *Message) error {
		close(entered)
		<-release // ignores ctx
		return nil
	})
	reg := prometheus.NewRegistry()
	cfg.Metrics = reg
	w, err := New(b.js, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	b.publish(t, "hangs", 1)
	<-entered
	require.True(t, gathered(t, reg, "omq_consumer_pending"))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = w.Stop(ctx)
	close(release)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "workers: hangs: 1 handler still running, its message will be redelivered")
	require.False(t, gathered(t, reg, "omq_consumer_pending"), "metrics unregistered on timeout too")
	require.Equal(t, err, w.Stop(context.Background()), "a second Stop returns the first result")
}

func TestWorkerStopTwiceReturnsNilTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	w, err := New(b.js, b.fastConfig("twice", func(context.Context, *Message) error { return nil }))
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	require.NoError(t, w.Stop(t.Context()))
	require.NoError(t, w.Stop(t.Context()))
}

// The mover's metrics go with it whatever its Stop returns, even when its
// context has already ended; an error then names it.
func TestMoverStopAlwaysUnregistersAndRepeatsItsResult(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	for range 5 { // a Stop racing its own goroutines: more than one draw
		reg := prometheus.NewRegistry()
		mv, err := NewMover(b.js, MoverConfig{Topology: b.top, Metrics: reg})
		require.NoError(t, err)
		require.NoError(t, mv.Start(t.Context()))
		require.True(t, gathered(t, reg, "omq_dlq_fill_ratio"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = mv.Stop(ctx)
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
			require.ErrorContains(t, err, "workers: deadletters: ")
		}
		require.False(t, gathered(t, reg, "omq_dlq_fill_ratio"), "metrics unregistered")
		require.False(t, gathered(t, reg, "omq_deadletter_moved_total"), "metrics unregistered")
		require.Equal(t, err, mv.Stop(context.Background()), "a second Stop returns the first result")
	}
}

func TestMoverHasOneName(t *testing.T) {
	t.Parallel()
	mv, err := NewMover(nil, MoverConfig{})
	require.NoError(t, err)
	require.Equal(t, "deadletters", mv.Name(), "the role's name in omq run --only")
	require.Equal(t, mv.Name(), MoverWorker, "the Omq-Worker of its dead letters")
}
