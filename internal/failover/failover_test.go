package failover

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
)

const apiKey = "om_failover_key"

// Work sizes: small, so the three tests together stay within a minute or
// two on two cores, yet spread over the disruption.
const (
	txCount       = 16 // milestone events, one per seeded transaction
	creationCount = 8  // property creations
	publishEvery  = 80 * time.Millisecond
)

// rig is a cluster, the sandbox and two omq replicas.
type rig struct {
	t       *testing.T
	cluster *natstest.Cluster
	sb      *sandbox.Server
	js      jetstream.JetStream
	top     streams.Topology
	pub     *publisher.Publisher
	sys     [2]*system.System
	dirs    [2]string
	budget  budget.Limits

	txs    []string
	emails []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, cluster: natstest.StartCluster(t), budget: budget.Limits{PerHour: 100000, PerMinute: 10000}}
	sb, err := sandbox.New(sandbox.Config{Keys: map[string]string{apiKey: "failover"},
		// The API's own count: it would answer 429 past the budget's limits.
		RateLimit: r.budget.PerHour, BurstLimit: r.budget.PerMinute,
		Faults: sandbox.Faults{LatencyMS: 10, JitterMS: 40}})
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	r.sb = sb
	for i := range r.sys {
		r.dirs[i] = t.TempDir()
		r.start(i)
	}
	nc := r.cluster.Connect(t)
	r.js, err = jetstream.New(nc)
	require.NoError(t, err)
	r.top = r.sys[0].Deps().Topology
	r.pub, err = publisher.New(nc, publisher.WithPrefix(r.top.Prefix))
	require.NoError(t, err)
	for range txCount {
		tx, err := sb.SeedProperty(apiKey, omqtest.PropertyRequest())
		require.NoError(t, err)
		r.txs = append(r.txs, tx)
	}
	return r
}

// config is `omq run --nats-url <cluster> --replicas 3 --openmoove-url
// <sandbox>` with omqtest's timings scaled to milliseconds.
func (r *rig) config(i int) config.Config {
	c := config.Defaults()
	c.DataDir = r.dirs[i]
	c.NATSURL, c.NATSUser, c.NATSPassword = r.cluster.URL(), r.cluster.Credentials.User, r.cluster.Credentials.Password
	c.Replicas = 3
	c.OpenMooveURL, c.OpenMooveAPIKey = r.sb.URL(), apiKey
	c.BudgetPerHour, c.BudgetPerMinute = r.budget.PerHour, r.budget.PerMinute
	c.HTTP = "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	c.Concurrency = 4
	c.AckWait = 5 * time.Second
	c.InProcessRetries = 2
	c.InProcessRetryWindow = 500 * time.Millisecond
	c.RetryMin, c.RetryMax = 100*time.Millisecond, time.Second
	c.PauseMin, c.PauseMax = 200*time.Millisecond, time.Second
	c.TransactionGrace = 3 * time.Second
	return c
}

func (r *rig) start(i int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tlog{r.t, i}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := system.Start(ctx, system.Options{Config: r.config(i), Logger: log,
		Only: []string{"deadletters", "milestones", "properties"}})
	require.NoError(r.t, err, "omq replica %d", i)
	r.sys[i] = s
	r.t.Cleanup(func() { r.stop(i) })
}

func (r *rig) stop(i int) {
	if r.sys[i] == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = r.sys[i].Stop(ctx)
	r.sys[i] = nil
}

// tlog writes a replica's warnings to t.Log under -v.
type tlog struct {
	t *testing.T
	i int
}

func (l tlog) Write(p []byte) (int, error) { l.t.Logf("omq%d: %s", l.i, p); return len(p), nil }

// run publishes the work at a steady pace, calling disrupt once a third of
// it is out, and returns when everything is published; each publish is
// retried with the same id (deduplicated) until acknowledged, as an
// upstream system would through a leader election.
func (r *rig) run(disrupt func()) time.Time {
	r.t.Helper()
	var at time.Time
	n := txCount + creationCount
	for i := range n {
		if i == n/3 {
			at = time.Now()
			disrupt()
		}
		if i%3 == 2 && len(r.emails) < creationCount {
			req := omqtest.PropertyRequest()
			r.emails = append(r.emails, req.Email)
			cp := events.CreateProperty{CreateClientRequest: req, RequestID: fmt.Sprintf("req-%d", i)}
			r.publish(func(ctx context.Context) error { _, err := r.pub.CreateProperty(ctx, cp); return err })
		} else {
			ev := events.Event{ID: fmt.Sprintf("ev-%d", i), Type: events.TypeLegalPackCompleted, TransactionID: r.txs[(i-len(r.emails))%txCount]}
			r.publish(func(ctx context.Context) error { _, err := r.pub.Publish(ctx, ev); return err })
		}
		time.Sleep(publishEvery)
	}
	for len(r.emails) < creationCount { // the rest of the creations
		req := omqtest.PropertyRequest()
		r.emails = append(r.emails, req.Email)
		cp := events.CreateProperty{CreateClientRequest: req, RequestID: fmt.Sprintf("req-tail-%d", len(r.emails))}
		r.publish(func(ctx context.Context) error { _, err := r.pub.CreateProperty(ctx, cp); return err })
	}
	return at
}

func (r *rig) publish(f func(ctx context.Context) error) {
	r.t.Helper()
	require.Eventually(r.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return f(ctx) == nil
	}, 60*time.Second, 50*time.Millisecond, "publish acknowledged")
}

// check waits until every event is reflected and every creation made,
// then asserts the guarantees, and returns the stall after disruptedAt.
func (r *rig) check(disruptedAt time.Time) time.Duration {
	r.t.Helper()
	done := func() (missingTx, missingCreations int) {
		for _, tx := range r.txs {
			p, ok := r.sb.Lookup(tx)
			if !ok || !completed(p.Milestones, openmoove.MilestoneLegalPack) {
				missingTx++
			}
		}
		counts := r.creations()
		for _, e := range r.emails {
			if counts[e] == 0 {
				missingCreations++
			}
		}
		return
	}
	if !waitFor(90*time.Second, func() bool { a, b := done(); return a == 0 && b == 0 }) {
		a, b := done()
		r.t.Fatalf("after the disruption %d transactions lack their milestone and %d creations were not made", a, b)
	}
	for e, n := range r.creations() {
		if slices.Contains(r.emails, e) {
			require.Equal(r.t, 1, n, "creation for %s made exactly once", e)
		}
	}
	// Each read has its own deadline: after a whole-cluster restart the
	// DLQ, which nothing has written since, may still be electing its
	// leader, and one read stuck on that must not spend the others' time.
	var dls []deadletter.Letter
	require.Eventually(r.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		dls, err = deadletter.NewStore(r.js, r.top).List(ctx, deadletter.Filter{})
		return err == nil
	}, 90*time.Second, 100*time.Millisecond, "read the DLQ")
	require.Empty(r.t, dls, "nothing dead-lettered")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The shared budget held through the disruption: every call the API
	// saw was a token taken first (the two replicas' start checks
	// included), and the API never answered 429.
	calls := 0
	for _, q := range r.sb.Requests() {
		require.NotEqual(r.t, http.StatusTooManyRequests, q.Status, "the API's own count was never exceeded")
		calls++
	}
	b, err := budget.New(ctx, r.js, r.top, r.budget)
	require.NoError(r.t, err)
	snap, err := b.Snapshot(ctx)
	require.NoError(r.t, err)
	require.LessOrEqual(r.t, calls, r.budget.PerHour-snap.HourLeft, "no API call outside the shared budget")
	return r.stall(disruptedAt)
}

// creations counts the sandbox's properties by seller email.
func (r *rig) creations() map[string]int {
	out := map[string]int{}
	for _, p := range r.sb.Properties() {
		out[p.Request.Email]++
	}
	return out
}

// stall is the longest time after from in which no API write (a milestone
// completed, a property created) succeeded, until the last one.
func (r *rig) stall(from time.Time) time.Duration {
	var writes []time.Time
	for _, q := range r.sb.Requests() {
		if q.Method != http.MethodGet && q.Status < 300 && q.At.After(from) {
			writes = append(writes, q.At)
		}
	}
	slices.SortFunc(writes, func(a, b time.Time) int { return a.Compare(b) })
	var longest time.Duration
	prev := from
	for _, w := range writes {
		longest = max(longest, w.Sub(prev))
		prev = w
	}
	return longest
}

func completed(ms []openmoove.Milestone, name string) bool {
	for _, m := range ms {
		if m.Name == name && m.Completed {
			return true
		}
	}
	return false
}

func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// The node leading OPENMOOVE_EVENTS and the milestone worker's consumer
// (both moved to a node no omq replica is connected to) is killed mid-run and restarted two
// seconds later. The workers' pull requests die with the consumer leader;
// the pull heartbeat makes them pull again from the new leader within
// seconds, where nats.go's default left them idle for up to 30s.
func TestStreamLeaderKilled(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	events := r.top.EventsStream()
	restarted := make(chan error, 1)
	at := r.run(func() {
		// A node neither replica is connected to: their connections
		// survive, so only the pull heartbeat can tell them the consumer's
		// leader is gone (a dropped connection re-pulls by itself).
		n := r.idleNode()
		r.moveLeader(fmt.Sprintf("$JS.API.STREAM.LEADER.STEPDOWN.%s", events), func(ctx context.Context) string {
			s, err := r.js.Stream(ctx, events)
			if err != nil || s.CachedInfo().Cluster == nil {
				return ""
			}
			return s.CachedInfo().Cluster.Leader
		}, n)
		r.moveLeader(fmt.Sprintf("$JS.API.CONSUMER.LEADER.STEPDOWN.%s.milestones", events), func(ctx context.Context) string {
			c, err := r.js.Consumer(ctx, events, "milestones")
			if err != nil || c.CachedInfo().Cluster == nil {
				return ""
			}
			return c.CachedInfo().Cluster.Leader
		}, n)
		r.cluster.Kill(t, n)
		go func() {
			time.Sleep(2 * time.Second)
			restarted <- r.cluster.Restart(n)
		}()
	})
	require.NoError(t, <-restarted)
	stall := r.check(at)
	t.Logf("stall after killing the leader of %s and of its milestones consumer: %s", events, stall.Round(10*time.Millisecond))
	require.Less(t, stall, 15*time.Second, "the workers noticed the lost leader within seconds")
}

// idleNode is a node no omq replica is connected to.
func (r *rig) idleNode() int {
	r.t.Helper()
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		if r.sys[0].Deps().Conn.ConnectedServerName() != name && r.sys[1].Deps().Conn.ConnectedServerName() != name {
			return i
		}
	}
	r.t.Fatal("two replicas on three nodes leave one idle")
	return -1
}

// moveLeader asks a leader to step down (subject) in favour of node n
// (nats-server 2.11+ takes a preferred placement) until leader names it.
func (r *rig) moveLeader(subject string, leader func(context.Context) string, n int) {
	r.t.Helper()
	name := fmt.Sprintf("n%d", n)
	nc := r.cluster.Connect(r.t)
	require.Eventually(r.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if leader(ctx) == name {
			return true
		}
		_, _ = nc.RequestWithContext(ctx, subject, []byte(`{"placement":{"preferred":"`+name+`"}}`))
		return false
	}, 20*time.Second, 200*time.Millisecond, "%s: the leader moved to %s", subject, name)
}

// One omq replica stops mid-run and starts again two seconds later; the
// other carries on, and what the stopped one held is redelivered.
func TestReplicaRestarted(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	restarted := make(chan struct{})
	at := r.run(func() {
		r.stop(0)
		go func() {
			defer close(restarted)
			time.Sleep(2 * time.Second)
			r.start(0)
		}()
	})
	<-restarted
	stall := r.check(at)
	t.Logf("stall after stopping one of two omq replicas: %s", stall.Round(10*time.Millisecond))
}

// The whole cluster goes down mid-run and comes back two seconds later,
// from its stores; omq's replicas reconnect by themselves.
func TestClusterRestarted(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	at := r.run(func() {
		for i := range 3 {
			r.cluster.Kill(t, i)
		}
		time.Sleep(2 * time.Second)
		for i := range 3 {
			require.NoError(t, r.cluster.Restart(i))
		}
	})
	stall := r.check(at)
	t.Logf("stall after restarting the whole cluster (down 2s): %s", stall.Round(10*time.Millisecond))
}
