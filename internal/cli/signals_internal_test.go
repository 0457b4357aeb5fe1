package cli

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/openmoove/omq/internal/logging"
)

// The first signal starts a graceful shutdown (the run context ends); a
// second one forces the exit with status 1.
func TestSignalsFirstCancelsSecondForces(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	e := &Env{Signals: sigs, Exit: func(code int) { exited <- code }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := e.onSignals(cancel, logging.Discard())
	defer stop()

	sigs <- syscall.SIGTERM
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not start the shutdown")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after one signal", code)
	default:
	}
	sigs <- syscall.SIGINT
	select {
	case code := <-exited:
		if code != 1 {
			t.Fatalf("forced exit status %d, want 1", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not force the exit")
	}
}
