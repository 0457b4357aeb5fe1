// Package lifecycle holds the pieces every omq component's Stop is made of,
// so the role contract (workers.Component) is kept the same way
// everywhere: a Stop is once-guarded and returns the first call's result
// (Once), waits for what it owns only until its context ends, and then
// says who did not stop and what is still running (Wait). Cleanup
// (metrics unregistered, subscriptions drained) is the caller's, after
// Wait, whatever Wait returned.
package lifecycle

import (
	"context"
	"fmt"
	"sync"
)

// Once guards a Stop: the first Do runs stop; every call, concurrent or
// later, returns that first result. The zero value is ready.
type Once struct {
	once sync.Once
	err  error
}

// Do runs stop the first time and returns its result every time.
func (o *Once) Do(stop func() error) error {
	o.once.Do(func() { o.err = stop() })
	return o.err
}

// Wait returns nil once done is closed. If ctx ends first it returns
// "<who>: <still()>: <ctx.Err()>", wrapping ctx.Err() so errors.Is
// recognises the deadline; still is asked only then, so it can count what
// is left ("3 handlers still running").
func Wait(ctx context.Context, done <-chan struct{}, who string, still func() string) error {
	// Already done wins over an expired ctx: there is nothing to report.
	select {
	case <-done:
		return nil
	default:
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %s: %w", who, still(), ctx.Err())
	}
}

// Loop is the goroutine a component owns between Start and Stop. The zero
// value is ready; Go starts it once.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   Once
}

// Go runs run in a goroutine whose context Stop cancels; ctx bounds
// nothing after Start returns, so it is not run's parent.
func (l *Loop) Go(run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		run(ctx)
	}()
}

// Stop is a component's Stop for a Loop: once, it cancels run's context,
// waits for run to return until ctx ends (Wait names who and still on
// timeout), then runs cleanup whatever Wait returned. Before Go it does
// nothing and returns nil.
func (l *Loop) Stop(ctx context.Context, who string, still func() string, cleanup func()) error {
	return l.once.Do(func() error {
		if l.cancel == nil {
			return nil
		}
		l.cancel()
		err := Wait(ctx, l.done, who, still)
		if cleanup != nil {
			cleanup()
		}
		return err
	})
}

// Done returns a channel closed once every goroutine wg counts has returned.
func Done(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}
