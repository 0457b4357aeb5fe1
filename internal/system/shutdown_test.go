package system_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/system"
)

// fake is a component that records when it is stopped. hang makes its Stop
// ignore its context until the channel is closed.
type fake struct {
	name    string
	hang    chan struct{}
	err     error
	stopped func(name string)
}

func (f *fake) Name() string                { return f.name }
func (f *fake) Start(context.Context) error { return nil }
func (f *fake) Stop(context.Context) error {
	if f.hang != nil {
		<-f.hang
	}
	f.stopped(f.name)
	return f.err
}

// A component that ignores its stop context is named in Stop's error, Stop
// returns soon after its deadline, and the components stopped after it
// (started before it) are still stopped, in reverse start order.
func TestShutdownNamesAComponentThatDidNotStop(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	record := func(name string) { mu.Lock(); order = append(order, name); mu.Unlock() }
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) }) // so the abandoned Stop ends before goleak looks
	refused := errors.New("workers: second: 1 handler still running: context deadline exceeded")
	s := system.WithComponents(logging.Discard(), 100*time.Millisecond,
		&fake{name: "first", stopped: record},
		&fake{name: "second", stopped: record, err: refused},
		&fake{name: "stuck", hang: hang, stopped: record},
		&fake{name: "last", stopped: record},
	)
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	began := time.Now()
	err := s.Stop(ctx)
	took := time.Since(began)

	require.Error(t, err)
	require.Contains(t, err.Error(), "stuck: Stop still running")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, refused, "a component's own stop error is reported too")
	require.Less(t, took, deadline+time.Second, "Stop does not wait for a component that ignores its context")
	mu.Lock()
	require.Equal(t, []string{"last", "second", "first"}, order, "the rest stopped, in reverse start order")
	mu.Unlock()
	require.Equal(t, err, s.Stop(context.Background()), "a second Stop returns the first result")
}
