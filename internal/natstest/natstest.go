package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/broker"
)

// Server is a running embedded server with a connection to it. Like every
// embedded server it requires credentials: a TCP client connects with
// nats.Connect(s.URL, s.ClientOptions()...), a child process with AuthURL.
type Server struct {
	*broker.Embedded
	Dir  string
	URL  string // nats:// URL when started with Listen, else ""
	Conn *nats.Conn
	JS   jetstream.JetStream
}

// Option changes how Start runs the server.
type Option func(*options)

type options struct {
	listen   bool
	dir      string
	maxStore int64
}

// MaxStore caps the server's JetStream file store, for tests that fill it.
func MaxStore(bytes int64) Option { return func(o *options) { o.maxStore = bytes } }

// Listen makes the server accept TCP clients on a free loopback port, for
// tests that run a second process or a non-Go client.
func Listen() Option { return func(o *options) { o.listen = true } }

// Dir reuses a store directory, for restart tests.
func Dir(dir string) Option { return func(o *options) { o.dir = dir } }

// Start runs an embedded JetStream server in t.TempDir() (or Dir) and
// connects to it in process.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	eo := broker.EmbeddedOptions{StoreDir: o.dir, ServerName: "test", MaxStore: o.maxStore}
	if o.listen {
		eo.Listen = "127.0.0.1:0"
	}
	e, err := broker.StartEmbedded(eo)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	nc, err := e.Connect("natstest")
	if err != nil {
		_ = e.Shutdown(context.Background())
		t.Fatalf("natstest: connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	s := &Server{Embedded: e, Dir: o.dir, URL: e.ClientURL(), Conn: nc, JS: js}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// AuthURL is URL with the credentials in it, for a child process that gets
// one string; "" without Listen. Test code only: it holds the password.
func (s *Server) AuthURL() string { return withCredentials(s.URL, s.Credentials()) }

func withCredentials(u string, c broker.Credentials) string {
	if u == "" {
		return ""
	}
	return strings.Replace(u, "nats://", "nats://"+url.UserPassword(c.User, c.Password).String()+"@", 1)
}

// Stop closes the connection and shuts the server down; it is safe to call
// more than once.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.Conn != nil {
		s.Conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("natstest: %v", err)
	}
}

// Cluster is three embedded servers forming one JetStream cluster.
type Cluster struct {
	Nodes []*broker.Embedded // nil while a node is killed
	URLs  []string
	// Credentials are the same on every node, so a client may fail over.
	Credentials broker.Credentials
	// opts restart a node on its own ports and store (Restart).
	opts []broker.EmbeddedOptions
	mu   sync.Mutex // guards Nodes against a Restart in another goroutine
}

// StartCluster runs a three-node cluster in this process and waits for a
// JetStream meta leader.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	ports := freePorts(t, 6)
	routes := make([]string, 3)
	for i := range 3 {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i])
	}
	c := &Cluster{Credentials: broker.Credentials{User: broker.DefaultUser, Password: "natstest-cluster"}}
	for i := range 3 {
		o := broker.EmbeddedOptions{
			StoreDir: t.TempDir(), ServerName: fmt.Sprintf("n%d", i), Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]),
			Cluster:     &broker.ClusterOptions{Name: "C1", Listen: fmt.Sprintf("127.0.0.1:%d", ports[3+i]), Routes: routes},
			Credentials: c.Credentials,
		}
		e, err := broker.StartEmbedded(o)
		if err != nil {
			c.stop()
			t.Fatalf("natstest: cluster node %d: %v", i, err)
		}
		c.Nodes = append(c.Nodes, e)
		c.URLs = append(c.URLs, e.ClientURL())
		c.opts = append(c.opts, o)
	}
	t.Cleanup(c.stop)
	nc := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := broker.WaitJetStream(ctx, nc); err != nil {
		t.Fatalf("natstest: cluster: %v", err)
	}
	return c
}

// URL is every node's URL, comma-separated, as --nats-url takes it.
func (c *Cluster) URL() string { return strings.Join(c.URLs, ",") }

// Index is the position in Nodes of the server named name ("n0".."n2"),
// as a stream's or consumer's cluster info names its leader; -1 if none.
func (c *Cluster) Index(name string) int {
	for i, o := range c.opts {
		if o.ServerName == name {
			return i
		}
	}
	return -1
}

// Kill shuts node i down, as a crashed machine would leave the cluster.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	if c.Nodes[i] == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Nodes[i].Shutdown(ctx); err != nil {
		t.Fatalf("natstest: kill node %d: %v", i, err)
	}
	c.mu.Lock()
	c.Nodes[i] = nil
	c.mu.Unlock()
}

// Restart starts a killed node again on its ports with its store. It
// returns an error rather than failing the test, so a test may restart
// from another goroutine.
func (c *Cluster) Restart(i int) error {
	e, err := broker.StartEmbedded(c.opts[i])
	if err != nil {
		return fmt.Errorf("natstest: restart node %d: %w", i, err)
	}
	c.mu.Lock()
	c.Nodes[i] = e
	c.mu.Unlock()
	return nil
}

// Connect opens a TCP connection to the cluster, closed in t.Cleanup.
func (c *Cluster) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URL(), append(c.Credentials.Options(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))...)
	if err != nil {
		t.Fatalf("natstest: connect to cluster: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.Nodes {
		if n == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = n.Shutdown(ctx)
		cancel()
	}
	c.Nodes = nil
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("natstest: free port: %v", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
