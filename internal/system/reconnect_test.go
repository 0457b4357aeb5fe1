package system_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
)

// startExternalNATS runs a nats-server as an operator's would be: its own
// store, a port of its own; started again on the same port and store, it
// is the same server back after a restart.
func startExternalNATS(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats-server not ready")
	return ns
}

// A single external nats-server stopped and started again: omq reconnects
// by itself, /readyz says why it is not ready meanwhile, and every event
// queued before the stop is handled after it.
func TestExternalNATSRestartReconnectsAndLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ns := startExternalNATS(t, dir, -1)
	addr, port := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })

	c := testConfig(t)
	c.NATSURL = addr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, Only: []string{"milestones"}, Sandbox: func(sc *sandbox.Config) { sc.Seed = 1 }})
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, s) })
	d := s.Deps()
	js, top := d.JS, d.Topology
	url := "http://" + s.HTTPAddr()

	// Work queued before the stop waits behind a paused consumer, so the
	// stop finds it still in the stream.
	_, err = js.PauseConsumer(ctx, top.EventsStream(), "milestones", time.Now().Add(time.Hour))
	require.NoError(t, err)
	pub, err := publisher.New(d.Conn, publisher.WithPrefix(top.Prefix))
	require.NoError(t, err)
	txs := s.Sandbox().SeededIDs()
	for _, tx := range txs {
		_, err := pub.Publish(ctx, events.Event{Type: events.TypeLegalPackCompleted, TransactionID: tx})
		require.NoError(t, err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, ctx, "/readyz to say NATS is not connected", func() bool {
		code, body := get(t, url+"/readyz")
		return code == 503 && strings.Contains(fmt.Sprint(body["reasons"]), "NATS is reconnecting")
	})
	code, _ := get(t, url+"/healthz")
	require.Equal(t, 200, code, "a reconnecting omq is alive: restarting it would not help")
	// The outage itself (30 s seen in production, shortened): long enough
	// for several of the client's reconnect attempts (one a second) to fail.
	time.Sleep(3 * time.Second)

	ns = startExternalNATS(t, dir, port)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	waitFor(t, ctx, "/readyz back to 200 without a restart of omq", func() bool { code, _ := get(t, url+"/readyz"); return code == 200 })
	_, err = js.ResumeConsumer(ctx, top.EventsStream(), "milestones")
	require.NoError(t, err)
	waitFor(t, ctx, "every event queued before the stop to be handled", func() bool {
		return streamMsgs(ctx, js, top.EventsStream()) == 0 && streamMsgs(ctx, js, top.OutcomesStream()) >= uint64(len(txs))
	})
	require.Zero(t, streamMsgs(ctx, js, top.DLQStream()), "nothing dead-lettered")
}
