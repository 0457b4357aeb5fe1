package workers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

// childEnv, when set, makes the test binary run as a worker process for the
// crash tests instead of running tests: "hang" blocks in the handler,
// "deadletter" stops between the DLQ publish and the Term. Either way the
// child prints a line when it got there and waits to be killed.
const (
	childEnv    = "OMQ_WORKERS_TEST_CHILD"
	childURLEnv = "OMQ_WORKERS_TEST_NATS_URL"
)

// crashConfig is the worker config both the child and the parent use.
func crashConfig(name string, h Handler) Config {
	return Config{
		Name: name, Stream: streams.New("openmoove").EventsStream(),
		Subjects: []string{streams.New("openmoove").EventSubject(name + ".>")},
		Handler:  h, Concurrency: 2, AckWait: 500 * time.Millisecond, MaxDeliver: 10, MaxFailures: 3,
		RetryMin: 20 * time.Millisecond, RetryMax: 80 * time.Millisecond,
		InProcessRetries: 1, InProcessRetryWindow: 50 * time.Millisecond,
		PauseMin: 200 * time.Millisecond, PauseMax: 400 * time.Millisecond, Topology: streams.New("openmoove"),
	}
}

func runChild() int {
	nc, err := nats.Connect(os.Getenv(childURLEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	js, _ := jetstream.New(nc)
	var cfg Config
	switch mode := os.Getenv(childEnv); mode {
	case "hang":
		cfg = crashConfig("crash", func(ctx context.Context, m *Message) error {
			fmt.Printf("in handler %d\n", m.Seq)
			select {} // killed here
		})
	case "deadletter":
		cfg = crashConfig("crashdlq", func(context.Context, *Message) error {
			return failure.PermanentError(errors.New("unknown event type"))
		})
		cfg.afterDeadLetter = func(m *Message) {
			fmt.Printf("dead-lettered %d\n", m.Seq)
			select {} // killed between the DLQ publish and the Term
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	w, err := New(js, cfg)
	if err == nil {
		err = w.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {}
}

// startChild runs the test binary as a worker process and returns once it
// printed its first line; the process is SIGKILLed by kill.
func startChild(t *testing.T, url, mode string) (line string, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childURLEnv+"="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var killed atomic.Bool
	kill = func() {
		if killed.Swap(true) {
			return
		}
		_ = cmd.Process.Kill() // SIGKILL: no deferred function, no ack
		_ = cmd.Wait()
	}
	t.Cleanup(kill)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatal("the child never reached its handler")
	}
	return line, kill
}

// A worker process killed with SIGKILL in the middle of a message: the
// message is redelivered and completed by another process.
func TestKilledWorkerMessageIsRedeliveredAndCompleted(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{}, natstest.Listen())
	b.publish(t, "crash", 1)
	line, kill := startChild(t, b.nats.AuthURL(), "hang")
	require.Equal(t, "in handler 1", line)
	kill()
	var deliveries atomic.Uint64
	b.start(t, crashConfig("crash", func(_ context.Context, m *Message) error {
		deliveries.Store(m.Deliveries)
		return nil
	}))
	eventually(t, 10*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "completed after the crash")
	require.Equal(t, uint64(2), deliveries.Load(), "the second delivery completed it")
	require.Empty(t, b.deadLetters(t))
}

// A crash between the DLQ publish and the Term leaves one dead letter, not
// two: the redelivery's copy is dropped by the DLQ's duplicate window.
func TestCrashBetweenDeadLetterAndTermLeavesOneDeadLetter(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{}, natstest.Listen())
	b.publish(t, "crashdlq", 1)
	line, kill := startChild(t, b.nats.AuthURL(), "deadletter")
	require.Equal(t, "dead-lettered 1", line)
	kill()
	require.Len(t, b.deadLetters(t), 1, "the child's copy")
	require.Equal(t, uint64(1), b.streamMsgs(t, b.top.EventsStream()), "the original was not terminated")
	var handled atomic.Int32
	b.start(t, crashConfig("crashdlq", func(context.Context, *Message) error {
		handled.Add(1)
		return failure.PermanentError(errors.New("unknown event type"))
	}))
	eventually(t, 10*time.Second, func() bool { return b.streamMsgs(t, b.top.EventsStream()) == 0 }, "terminated after the redelivery")
	dls := b.deadLetters(t)
	require.Len(t, dls, 1, "one dead letter, not two")
	require.Equal(t, int32(1), handled.Load())
	require.Equal(t, "1", dls[0].Header.Get(deadletter.HeaderDeliveries), "the first copy is the one kept")
}
