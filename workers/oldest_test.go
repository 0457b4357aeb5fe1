package workers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// oldestAge is the worker's omq_consumer_oldest_pending_age_seconds, with
// its stream and consumer labels checked.
func oldestAge(t *testing.T, reg *prometheus.Registry, worker, stream string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "omq_consumer_oldest_pending_age_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["worker"] == worker {
				require.Equal(t, map[string]string{"worker": worker, "stream": stream, "consumer": worker}, labels)
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no omq_consumer_oldest_pending_age_seconds for worker %s", worker)
	return 0
}

// The oldest pending age is 0 while nothing is owed, grows with the one
// message a stuck handler holds, counts only the consumer's own subjects
// (an older message of another subject in the same stream is not its
// backlog), and is 0 again once the message is acknowledged.
func TestOldestPendingAgeTracksTheStuckMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	entered, release := make(chan struct{}, 1), make(chan struct{})
	cfg := b.fastConfig("stuck", func(ctx context.Context, _ *Message) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	cfg.AckWait = 30 * time.Second
	reg := prometheus.NewRegistry()
	cfg.Metrics = reg
	b.start(t, cfg)
	free := sync.OnceFunc(func() { close(release) })
	t.Cleanup(free) // before the worker's Stop, should the test fail early
	stream := b.top.EventsStream()
	require.Zero(t, oldestAge(t, reg, "stuck", stream), "nothing pending")

	// Another consumer's message, older than ours, left in the stream.
	b.publishOne(t, "other", 0)
	otherAt := time.Now()
	require.Eventually(t, func() bool { return time.Since(otherAt) > time.Second }, 3*time.Second, 10*time.Millisecond)
	publishedAt := time.Now()
	b.publishOne(t, "stuck", 0)
	<-entered

	require.Eventually(t, func() bool { return oldestAge(t, reg, "stuck", stream) >= 0.3 }, 5*time.Second, 20*time.Millisecond, "grows while the handler holds it")
	age := oldestAge(t, reg, "stuck", stream)
	require.LessOrEqual(t, age, time.Since(publishedAt).Seconds()+0.05, "our message's age, not the other subject's older one")

	free()
	require.Eventually(t, func() bool { return oldestAge(t, reg, "stuck", stream) == 0 }, 5*time.Second, 10*time.Millisecond, "0 once acknowledged")
}
