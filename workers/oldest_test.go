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

// oldestAge is the worker's omq_consumer_oldest_pending_age_seconds and
// its labels; found is false when the scrape had none. It does not fail the
// test itself, so require.Eventually may call it.
func oldestAge(reg *prometheus.Registry, worker string) (age float64, labels map[string]string, found bool) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, nil, false
	}
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
				return m.GetGauge().GetValue(), labels, true
			}
		}
	}
	return 0, nil, false
}

// ageIs polls until the worker's oldest pending age is found and holds
// cond.
func ageIs(t *testing.T, reg *prometheus.Registry, cond func(float64) bool, msg string) (float64, map[string]string) {
	t.Helper()
	var age float64
	var labels map[string]string
	require.Eventually(t, func() bool {
		a, l, ok := oldestAge(reg, "stuck")
		age, labels = a, l
		return ok && cond(a)
	}, 5*time.Second, 10*time.Millisecond, msg)
	return age, labels
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
	_, labels := ageIs(t, reg, func(a float64) bool { return a == 0 }, "exported at 0 while nothing is pending")
	require.Equal(t, map[string]string{"worker": "stuck", "stream": b.top.EventsStream(), "consumer": "stuck"}, labels)

	// Another consumer's message, older than ours, left in the stream.
	b.publishOne(t, "other", 0)
	otherAt := time.Now()
	require.Eventually(t, func() bool { return time.Since(otherAt) > time.Second }, 3*time.Second, 10*time.Millisecond)
	publishedAt := time.Now()
	b.publishOne(t, "stuck", 0)
	<-entered

	age, _ := ageIs(t, reg, func(a float64) bool { return a >= 0.3 }, "grows while the handler holds it")
	require.LessOrEqual(t, age, time.Since(publishedAt).Seconds()+0.05, "our message's age, not the other subject's older one")

	free()
	ageIs(t, reg, func(a float64) bool { return a == 0 }, "0 once acknowledged")
}
