package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/openmoove/omq/internal/retry"
)

func TestBackoffGrowsWithJitterAndNeverStops(t *testing.T) {
	t.Parallel()
	const initial, maxWait = 100 * time.Millisecond, time.Second
	b := retry.Backoff(initial, maxWait, 2)
	lo, hi := float64(initial)*(1-retry.Jitter), float64(initial)*(1+retry.Jitter)
	for i := range 50 {
		d := b.NextBackOff()
		if d == backoff.Stop {
			t.Fatalf("wait %d: Stop; the caller decides when to give up", i)
		}
		if float64(d) < lo || float64(d) > hi {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, time.Duration(lo), time.Duration(hi))
		}
		lo, hi = min(lo*2, float64(maxWait)*(1-retry.Jitter)), min(hi*2, float64(maxWait)*(1+retry.Jitter))
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if !retry.Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep of a running context reported an early end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if retry.Sleep(ctx, time.Hour) { // returns at all only because ctx ended
		t.Fatal("Sleep of an ended context reported the full wait")
	}
	done := make(chan struct{})
	close(done)
	if retry.SleepUntil(done, time.Hour) {
		t.Fatal("SleepUntil of a closed channel reported the full wait")
	}
}
