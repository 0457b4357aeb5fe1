package properties_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

// drain queues n creations, runs the real property worker against sb and
// returns how long the sandbox took to hold them all, and the 429 count.
// With limits, every API call goes through omq's shared budget, as in
// omq run.
func drain(b testing.TB, sb *sandbox.Server, n int, limits *budget.Limits) (time.Duration, int) {
	ctx := context.Background()
	ns, top := testkit.JetStream(b)
	apiCfg := openmoove.Config{BaseURL: sb.URL(), APIKey: sandbox.DefaultAPIKey}
	if limits != nil {
		bud, err := budget.New(ctx, ns.JS, top, *limits)
		require.NoError(b, err)
		apiCfg = bud.Hooks(apiCfg)
	}
	api, err := openmoove.New(apiCfg)
	require.NoError(b, err)
	defer api.CloseIdleConnections()
	pub, err := publisher.New(ns.Conn)
	require.NoError(b, err)
	batch := pub.NewBatch()
	for i := range n {
		_, err := batch.AddProperty(ctx, creation(i, fmt.Sprintf("bench-%d", i)))
		require.NoError(b, err)
	}
	require.Empty(b, batch.Flush(ctx).Failures)
	settings := config.Defaults()
	settings.AckWait, settings.Concurrency = 10*time.Second, 16
	w, err := properties.New(ctx, properties.Options{Worker: settings.Worker(), JS: ns.JS, Topology: top, API: api})
	require.NoError(b, err)
	start := time.Now()
	require.NoError(b, w.Start(ctx))
	defer func() { _ = w.Stop(context.Background()) }()
	for len(sb.Properties()) < n {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	throttled := 0
	for _, r := range sb.Requests() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	return took, throttled
}

// BenchmarkCreateUnlimited: creations a second through the real worker
// (16 handlers) against a sandbox without rate limits.
func BenchmarkCreateUnlimited(b *testing.B) {
	const n = 500
	for b.Loop() {
		sb, err := sandbox.New(sandbox.Config{RateLimit: -1})
		require.NoError(b, err)
		require.NoError(b, sb.Start(context.Background()))
		took, _ := drain(b, sb, n, nil)
		_ = sb.Close(context.Background())
		b.ReportMetric(float64(n)/took.Seconds(), "creations/s")
	}
}

// BenchmarkDrainScaledLimit: a backlog of 150 against a sandbox allowing 10
// calls a second (50 per 5 s window), with omq's budget scaled to match as an
// operator would set it, compared with the ideal backlog ÷ rate.
func BenchmarkDrainScaledLimit(b *testing.B) {
	const n, limit, window = 150, 50, 5 * time.Second
	for b.Loop() {
		sb, err := sandbox.New(sandbox.Config{RateLimit: limit, BurstLimit: limit, RateWindow: window, BurstWindow: window})
		require.NoError(b, err)
		require.NoError(b, sb.Start(context.Background()))
		took, throttled := drain(b, sb, n, &budget.Limits{PerHour: limit, PerMinute: limit, Hour: window, Minute: window, ReadReserve: -1})
		_ = sb.Close(context.Background())
		ideal := time.Duration(float64(n) / (float64(limit) / window.Seconds()) * float64(time.Second))
		b.ReportMetric(took.Seconds(), "s-drain")
		b.ReportMetric(ideal.Seconds(), "s-ideal")
		b.ReportMetric(float64(throttled), "429s")
	}
}
