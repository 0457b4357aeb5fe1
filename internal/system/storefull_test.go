package system_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/milestones"
)

// A disk too small for the DLQ's reservation: the start fails naming the
// flag to lower and the space there is, not only the server's
// "insufficient storage resources available".
func TestStartOnASmallStoreNamesDLQMaxBytes(t *testing.T) {
	t.Parallel()
	c := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := system.Start(ctx, system.Options{Config: c, EmbeddedMaxStore: 64 << 20})
	require.Error(t, err)
	for _, want := range []string{"--dlq-max-bytes", "1024.0 MiB", "free of its 64.0 MiB (67108864 bytes) max_store", "insufficient storage"} {
		require.Contains(t, err.Error(), want)
	}
}

// A full store used to stall omq until a restart while /readyz said 200:
// the breaker's probe could not reserve budget (a write), was logged as
// "too much contention", and the pause grew. Now /readyz and /status name
// the full store, and the work goes through by itself once there is room.
func TestFullStoreShowsInReadyzAndHealsWithoutRestart(t *testing.T) {
	t.Parallel()
	c := testConfig(t)
	c.DLQMaxBytes = 1 << 20
	c.RetryMin, c.RetryMax = 100*time.Millisecond, time.Second
	c.InProcessRetries, c.InProcessRetryWindow = 2, 500*time.Millisecond
	c.PauseMin, c.PauseMax = 200*time.Millisecond, time.Second
	c.MaxDeliver = 1000 // a long refusal must not dead-letter the event
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, Only: []string{"milestones"}, EmbeddedMaxStore: 8 << 20,
		Sandbox: func(sc *sandbox.Config) { sc.Seed = 1 }})
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, s) })
	d := s.Deps()
	js, top := d.JS, d.Topology
	url := "http://" + s.HTTPAddr()
	code, _ := get(t, url+"/readyz")
	require.Equal(t, 200, code)

	// The event waits behind a paused consumer while the store fills.
	_, err = js.PauseConsumer(ctx, top.EventsStream(), milestones.Name, time.Now().Add(time.Hour))
	require.NoError(t, err)
	pub, err := publisher.New(d.Conn, publisher.WithPrefix(top.Prefix))
	require.NoError(t, err)
	tx := s.Sandbox().SeededIDs()[0]
	_, err = pub.Publish(ctx, events.Event{Type: events.TypeLegalPackCompleted, TransactionID: tx})
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}})
	require.NoError(t, err)
	for range 10000 {
		if _, err = js.Publish(ctx, "fill", make([]byte, 32<<10)); err != nil {
			break
		}
	}
	require.ErrorContains(t, err, "insufficient resources")

	_, err = js.ResumeConsumer(ctx, top.EventsStream(), milestones.Name)
	require.NoError(t, err)
	waitFor(t, ctx, "/readyz to name the full store", func() bool {
		code, body := get(t, url+"/readyz")
		return code == 503 && strings.Contains(fmt.Sprint(body["reasons"]), "store is full")
	})
	_, st := get(t, url+"/status")
	require.Equal(t, "stuck", st["state"], "%v", st)
	require.Contains(t, fmt.Sprint(st["reasons"]), "NATS refuses writes")

	fill, err := js.Stream(ctx, "FILL")
	require.NoError(t, err)
	require.NoError(t, fill.Purge(ctx))
	waitFor(t, ctx, "the event to complete its milestone once there is room", func() bool {
		return streamMsgs(ctx, js, top.EventsStream()) == 0 && streamMsgs(ctx, js, top.OutcomesStream()) > 0
	})
	waitFor(t, ctx, "/readyz back to 200", func() bool { code, _ := get(t, url+"/readyz"); return code == 200 })
	require.Zero(t, streamMsgs(ctx, js, top.DLQStream()), "nothing dead-lettered")
}

// omq run --only ingest makes no API call, so only its refused publishes
// can tell /readyz of a full store.
func TestFullStoreRefusingIngestShowsInReadyz(t *testing.T) {
	t.Parallel()
	c := testConfig(t)
	c.DLQMaxBytes = 1 << 20
	c.IngestToken = "ingest-token-for-the-test"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, Only: []string{"ingest"}, EmbeddedMaxStore: 8 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, s) })
	js := s.Deps().JS
	url := "http://" + s.HTTPAddr()
	post := func() int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/events", strings.NewReader(`{"type":"offer_accepted","transaction_id":"tx-1"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+c.IngestToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}})
	require.NoError(t, err)
	for range 10000 {
		if _, err = js.Publish(ctx, "fill", make([]byte, 32<<10)); err != nil {
			break
		}
	}
	require.ErrorContains(t, err, "insufficient resources")

	require.Equal(t, http.StatusServiceUnavailable, post())
	code, body := get(t, url+"/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, fmt.Sprint(body["reasons"]), "store is full")

	fill, err := js.Stream(ctx, "FILL")
	require.NoError(t, err)
	require.NoError(t, fill.Purge(ctx))
	require.Equal(t, http.StatusAccepted, post())
	code, _ = get(t, url+"/readyz")
	require.Equal(t, 200, code)
}
