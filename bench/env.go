package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
)

const apiKey = sandbox.DefaultAPIKey

// natsEnv is an embedded JetStream server on loopback TCP with omq's
// streams provisioned.
type natsEnv struct {
	dir string
	srv *broker.Embedded
	url string
	nc  *nats.Conn
	js  jetstream.JetStream
	top streams.Topology
}

func startNATS(ctx context.Context) (*natsEnv, error) {
	dir, err := os.MkdirTemp("", "omq-bench-")
	if err != nil {
		return nil, err
	}
	srv, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: dir, Listen: "127.0.0.1:0", ServerName: "bench"})
	if err != nil {
		return nil, err
	}
	// The embedded server requires its (random, in-memory) credentials; in
	// the URL they reach every engine, the child process and the nats CLI
	// alike. A benchmark's throwaway password may sit in a command line.
	c := srv.Credentials()
	u := strings.Replace(srv.ClientURL(), "nats://", "nats://"+url.UserPassword(c.User, c.Password).String()+"@", 1)
	e := &natsEnv{dir: dir, srv: srv, url: u, top: streams.New("openmoove")}
	if e.nc, err = nats.Connect(e.url, nats.Name("bench-control")); err != nil {
		return nil, err
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		return nil, err
	}
	if _, err := streams.Apply(ctx, e.js, e.top, nil); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *natsEnv) close() {
	e.nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	_ = os.RemoveAll(e.dir)
}

// conn opens another client connection (each engine gets its own, as a
// separate process would).
func (e *natsEnv) conn(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(e.url, nats.Name(name))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// pending is the number of messages left in the events stream (a work
// queue: an ack removes the message).
func (e *natsEnv) pending(ctx context.Context) (uint64, error) {
	s, err := e.js.Stream(ctx, e.top.EventsStream())
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitDrained polls the events stream until it is empty.
func (e *natsEnv) waitDrained(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := e.pending(ctx)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("events stream not drained after %s: %d left", timeout, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// deleteConsumer removes a durable consumer, so that the next engine's
// consumer may filter the same work-queue subjects.
func (e *natsEnv) deleteConsumer(ctx context.Context, name string) {
	if s, err := e.js.Stream(ctx, e.top.EventsStream()); err == nil {
		_ = s.DeleteConsumer(ctx, name)
	}
}

// newSandbox starts a sandbox over loopback HTTP.
func newSandbox(ctx context.Context, cfg sandbox.Config) (*sandbox.Server, *openmoove.Client, error) {
	sb, err := newSandboxServer(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := sb.Start(ctx); err != nil {
		return nil, nil, err
	}
	api, err := openmoove.New(openmoove.Config{BaseURL: sb.URL(), APIKey: apiKey})
	if err != nil {
		return nil, nil, err
	}
	return sb, api, nil
}

// seed creates n standard-sale transactions in the sandbox (in process: the
// journal and the rate limiter do not see it).
func seed(sb *sandbox.Server, n int) ([]string, error) {
	txs := make([]string, n)
	for i := range txs {
		tx, err := sb.SeedProperty(apiKey, openmoove.CreateClientRequest{
			FirstName: "Ada", LastName: "Byron", Email: fmt.Sprintf("ada%d@example.com", i),
			PhoneNumber: "+447700900001", PropertyAddress: fmt.Sprintf("%d Market Street, Manchester", i+1),
			PropertyPostcode: "M1 2AB", EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard,
		})
		if err != nil {
			return nil, err
		}
		txs[i] = tx
	}
	return txs, nil
}

// backlog is the five event types for every transaction, one type after
// another (adjacent messages belong to different transactions), perTx
// rounds over: round 0 completes each milestone, later rounds repeat the
// facts under new ids (the cache answers them).
func backlog(txs []string, rounds int) []events.Event {
	out := make([]events.Event, 0, len(txs)*5*rounds)
	for r := range rounds {
		for _, typ := range events.Types() {
			for i, tx := range txs {
				out = append(out, events.Event{ID: fmt.Sprintf("%s-%d-%s-%d", tx[:8], i, typ, r), Type: typ, TransactionID: tx, Actor: "bench"})
			}
		}
	}
	return out
}

// publishAll publishes evs with omq's publisher (async, a window of
// inFlight) and fails on any failure.
func publishAll(ctx context.Context, nc *nats.Conn, evs []events.Event, inFlight int) error {
	p, err := publisher.New(nc, publisher.WithMaxInFlight(inFlight), publisher.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	b := p.NewBatch()
	for _, ev := range evs {
		if _, err := b.Add(ctx, ev); err != nil {
			return err
		}
	}
	res := b.Flush(ctx)
	if len(res.Failures) > 0 {
		return fmt.Errorf("publish: %d failures, first %v", len(res.Failures), res.Failures[0])
	}
	return nil
}

// percentile of sorted durations, p in [0,1].
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p*float64(len(d)-1) + 0.5)
	return d[i]
}

// sandboxes counts the sandboxes started: each gets its own RandSeed, so
// its transaction ids are new to the MILESTONES cache.
var sandboxes atomic.Uint64

func newSandboxServer(cfg sandbox.Config) (*sandbox.Server, error) {
	cfg.RandSeed = 1000 + sandboxes.Add(1)
	return sandbox.New(cfg)
}
