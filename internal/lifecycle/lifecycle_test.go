package lifecycle

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOnceReturnsTheFirstResultToEveryCall(t *testing.T) {
	t.Parallel()
	var o Once
	calls := 0
	first := errors.New("first")
	stop := func() error { calls++; return first }
	require.ErrorIs(t, o.Do(stop), first)
	require.ErrorIs(t, o.Do(func() error { calls++; return nil }), first, "a second Stop returns the first result")
	require.Equal(t, 1, calls)
}

func TestOnceMakesAConcurrentCallWaitForTheFirst(t *testing.T) {
	t.Parallel()
	var o Once
	release := make(chan struct{})
	first := errors.New("first")
	entered := make(chan struct{})
	go func() { _ = o.Do(func() error { close(entered); <-release; return first }) }()
	<-entered
	second := make(chan error, 1)
	go func() { second <- o.Do(func() error { return nil }) }()
	close(release)
	require.ErrorIs(t, <-second, first)
}

func TestWaitNamesWhoAndWhatOnTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := Wait(ctx, make(chan struct{}), "workers: milestones", func() string { return "3 handlers still running" })
	require.EqualError(t, err, "workers: milestones: 3 handlers still running: context deadline exceeded")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestWaitPrefersDoneToAnExpiredContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	close(done)
	for range 100 {
		require.NoError(t, Wait(ctx, done, "x", func() string { return "y" }))
	}
}

func TestDoneClosesWhenTheGroupIsDone(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Go(func() { <-release })
	done := Done(&wg)
	select {
	case <-done:
		t.Fatal("closed while a goroutine still runs")
	default:
	}
	close(release)
	<-done
}

// A loop that ignores its context: Stop returns at its deadline, still
// runs the cleanup, and returns the same error again.
func TestLoopStopCleansUpOnTimeoutAndRepeats(t *testing.T) {
	t.Parallel()
	var l Loop
	release := make(chan struct{})
	defer close(release)
	l.Go(func(context.Context) { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	cleaned := 0
	err := l.Stop(ctx, "poller", func() string { return "a poll still running" }, func() { cleaned++ })
	require.EqualError(t, err, "poller: a poll still running: context deadline exceeded")
	require.Equal(t, 1, cleaned)
	require.Equal(t, err, l.Stop(context.Background(), "poller", nil, func() { cleaned++ }))
	require.Equal(t, 1, cleaned, "cleanup runs once")
}

func TestLoopStopEndsTheLoop(t *testing.T) {
	t.Parallel()
	var l Loop
	require.NoError(t, l.Stop(t.Context(), "never started", nil, nil))
	var m Loop
	m.Go(func(ctx context.Context) { <-ctx.Done() })
	require.NoError(t, m.Stop(t.Context(), "monitor", nil, nil))
}
