package cli

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

func runOMQEnv(e *Env, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	e.Stdin, e.Stdout, e.Stderr = bytes.NewReader(nil), &out, &errOut
	e.LookupEnv = func(string) (string, bool) { return "", false }
	code = Main(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

// A publish a full store refuses says so and what to do, instead of
// asking whether omq run is running.
func TestPublishOnAFullStoreNamesIt(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.Listen(), natstest.MaxStore(4<<20))
	_, err := streams.Apply(t.Context(), s.JS, streams.Topology{Prefix: "openmoove", DLQMaxBytes: 1 << 20}, nil)
	require.NoError(t, err)
	_, err = s.JS.CreateStream(t.Context(), jetstream.StreamConfig{Name: "FILL", Subjects: []string{"fill"}})
	require.NoError(t, err)
	for range 1000 {
		if _, err = s.JS.Publish(t.Context(), "fill", make([]byte, 32<<10)); err != nil {
			break
		}
	}
	require.Error(t, err, "the store never filled")

	code, _, errOut := runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--nats-url", s.AuthURL())
	require.NotZero(t, code)
	require.Contains(t, errOut, "NATS refused the write: its JetStream store is full")
	require.Contains(t, errOut, "max_store")
	require.NotContains(t, errOut, "is omq run running")
}

// A publish that no stream answers (a stream leader lost, a full disk, or
// here a subscriber that never replies) ends at the command's NATS
// deadline with the cause, not after the whole command's ten minutes.
func TestPublishWithNoAnswerHasADeadline(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.Listen())
	sub, err := s.Conn.SubscribeSync("openmoove.events.>") // takes the request, never answers
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, s.Conn.Flush())

	code, _, errOut := runOMQEnv(&Env{NATSTimeout: 300 * time.Millisecond},
		"publish", "legal_pack_completed", "--transaction", "tx-1", "--nats-url", s.AuthURL())
	require.NotZero(t, code)
	require.Contains(t, errOut, "NATS did not answer in time")
	require.NotContains(t, errOut, "is omq run running")
}

// A NATS without a JetStream leader (here: none at all) makes streams
// apply wait and then say so, not print a bare "context deadline
// exceeded".
func TestStreamsApplyWithoutLeaderSaysSo(t *testing.T) {
	t.Parallel()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var errOut bytes.Buffer
	_, err = applyWhenLeader(ctx, &Env{Stderr: &errOut, NATSTimeout: 500 * time.Millisecond}, js, streams.New("openmoove"))
	require.Error(t, err)
	require.Contains(t, errOut.String(), "no JetStream leader yet: the cluster is still electing; retrying in a second")
	require.Contains(t, err.Error(), "no JetStream leader yet")
}

// omq streams apply on a cluster keeps R3 unless told to lower it, and
// prints what it kept.
func TestStreamsApplyKeepsClusterReplicas(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t)
	urls := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		urls[i] = strings.Replace(u, "nats://", "nats://"+url.UserPassword(c.Credentials.User, c.Credentials.Password).String()+"@", 1)
	}
	natsURL := strings.Join(urls, ",")
	code, _, errOut := runOMQ("streams", "apply", "--nats-url", natsURL, "--replicas", "3")
	require.Equal(t, 0, code, errOut)

	code, out, errOut := runOMQ("streams", "apply", "--nats-url", natsURL)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replicas: 3 kept (--replicas 1; add --lower-replicas to lower)")
	js, err := jetstream.New(c.Connect(t))
	require.NoError(t, err)
	replicas := func() int {
		st, err := js.Stream(t.Context(), "OPENMOOVE_EVENTS")
		require.NoError(t, err)
		return st.CachedInfo().Config.Replicas
	}
	require.Equal(t, 3, replicas())

	code, out, errOut = runOMQ("streams", "apply", "--nats-url", natsURL, "--replicas", "1", "--lower-replicas")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replicas: 3 -> 1")
	require.Equal(t, 1, replicas())
}
