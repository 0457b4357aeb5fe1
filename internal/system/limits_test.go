package system_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/httpserve/httpservetest"
	"github.com/openmoove/omq/internal/webhookreceiver"
)

const (
	attackReadTimeout = 2 * time.Second
	attackIdleTimeout = 2 * time.Second
	// slack is what a loaded 2-core machine (the race detector on, other
	// packages' tests beside) may add to a timeout before the server's
	// close reaches the client.
	slack         = 15 * time.Second
	slowBodies    = 300
	idleKeepAlive = 200
	// slowDeclared is under the default 64 KiB webhook cap; each slow
	// connection sends all of it but the last few bytes, then stalls.
	slowDeclared = 60_000
	// memBound is the most the Go heap and stacks in use may grow while
	// 300 such bodies and 200 idle connections are open (the whole test
	// process, its 500 client connections included; the bodies alone are
	// 300 × 60 KB = 18 MB; per connection add its buffers and goroutines on
	// both sides, and garbage the GC has not yet taken back). Measured on
	// the 2-core test machine: 61–62 MB, with or without -race.
	// RSS is logged too but not bounded, since the race detector's shadow
	// memory quadruples it (58 MB growth without -race, 223 MB with).
	// Before the limits, the same attack with ~1 MB bodies grew omq from
	// 40 MB to 385 MB RSS and no connection was ever closed.
	memBound = 100 << 20
)

// TestSlowBodiesAndIdleConnectionsAreClosed is the attack of issue #12 on
// loopback: hundreds of unauthenticated connections that send most of a
// webhook body and stall, and hundreds of idle keep-alives. Each must be
// closed by the server within its timeout, memory must stay bounded, and
// /healthz must answer 200 throughout. Not parallel: the memory it measures
// is the whole test process's, so it runs while no other test does.
func TestSlowBodiesAndIdleConnectionsAreClosed(t *testing.T) {
	c := testConfig(t)
	c.WebhookSecrets = []string{"whsec-limits-test"}
	c.HTTPReadTimeout, c.HTTPWriteTimeout, c.HTTPIdleTimeout = attackReadTimeout, 2*attackReadTimeout, attackIdleTimeout
	c.HTTPMaxConns = 1000 // this test is about timeouts; the cap has its own
	s := start(t, c, nil)
	addr := s.HTTPAddr()
	rss0, mem0 := rssBytes(t, true), goMemory()

	probe := startHealthProbe(t, "http://"+addr+"/healthz")
	var wg sync.WaitGroup
	slow := make([]time.Duration, slowBodies)
	idle := make([]time.Duration, idleKeepAlive)
	for i := range slowBodies {
		wg.Go(func() { slow[i] = slowBody(t, addr) })
	}
	for i := range idleKeepAlive {
		wg.Go(func() { idle[i] = idleConn(t, addr) })
	}
	wg.Wait()
	peakRSS, peakMem, healthy := probe.stop()

	requireAllWithin(t, "slow-body", slow, attackReadTimeout+slack)
	requireAllWithin(t, "idle keep-alive", idle, attackIdleTimeout+slack)
	require.Positive(t, healthy, "/healthz was never probed during the attack")
	growth := int64(peakMem) - int64(mem0)
	t.Logf("during %d slow bodies and %d idle connections: Go heap+stacks %d → peak %d MB (growth %d MB, bound %d MB), RSS %d → peak %d MB; /healthz answered 200 %d times; slowest close: slow body %v, idle %v",
		slowBodies, idleKeepAlive, mem0>>20, peakMem>>20, growth>>20, memBound>>20, rss0>>20, peakRSS>>20, healthy, maxOf(slow), maxOf(idle))
	require.Less(t, growth, int64(memBound), "Go heap+stacks grew by %d MB, more than the %d MB bound (measured 61–62 MB)", growth>>20, memBound>>20)
}

// slowRequest is a webhook's headers and all of its body but five bytes,
// shared so that the clients' own memory stays out of the measurement.
var slowRequest = []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: omq\r\nContent-Type: application/json\r\n%s: sha256=%s\r\nContent-Length: %d\r\n\r\n",
	webhookreceiver.Path, webhookreceiver.SignatureHeader, strings.Repeat("0", 64), slowDeclared) +
	`{"event":"x","pad":"` + strings.Repeat("a", slowDeclared-25))

// slowBody sends a webhook's headers and all of its body but five bytes,
// then waits; it returns how long after the stall the server closed the
// connection, or a negative duration if it did not.
func slowBody(t *testing.T, addr string) time.Duration {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return -1
	}
	defer conn.Close()
	if _, err := conn.Write(slowRequest); err != nil {
		t.Errorf("write: %v", err)
		return -1
	}
	return untilClosed(conn, conn, time.Now())
}

// idleConn makes one keep-alive request, then stays idle; it returns how
// long after the answer the server closed the connection.
func idleConn(t *testing.T, addr string) time.Duration {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return -1
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: omq\r\n\r\n"); err != nil {
		t.Errorf("write: %v", err)
		return -1
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Errorf("first request on an idle connection: %v", err)
		return -1
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Errorf("the server closed a keep-alive connection at once")
	}
	return untilClosed(r, conn, time.Now())
}

// untilClosed reads (and drops) whatever the server sends until it closes
// the connection, and returns how long that took from since; -1 when the
// server kept it open past attack timeouts plus slack.
func untilClosed(r io.Reader, conn net.Conn, since time.Time) time.Duration {
	_ = conn.SetReadDeadline(since.Add(max(attackReadTimeout, attackIdleTimeout) + slack + time.Second))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return -1
	}
	return time.Since(since) // EOF or reset: closed by the server
}

func requireAllWithin(t *testing.T, what string, took []time.Duration, limit time.Duration) {
	t.Helper()
	for i, d := range took {
		if d < 0 || d > limit {
			t.Fatalf("%s connection %d: closed after %v (negative: never), want within %v", what, i, d, limit)
		}
	}
}

func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// healthProbe asks /healthz on a fresh connection every 100 ms and samples
// the process's RSS at each probe.
type healthProbe struct {
	done    chan struct{}
	wg      sync.WaitGroup
	peakRSS atomic.Uint64
	peakMem atomic.Uint64
	healthy atomic.Int64
}

func startHealthProbe(t *testing.T, url string) *healthProbe {
	p := &healthProbe{done: make(chan struct{})}
	client := &http.Client{Timeout: slack, Transport: &http.Transport{DisableKeepAlives: true}}
	p.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
			resp, err := client.Get(url)
			if err != nil {
				t.Errorf("/healthz during the attack: %v", err)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("/healthz during the attack: %d, want 200", resp.StatusCode)
			}
			p.healthy.Add(1)
			p.peakRSS.Store(max(p.peakRSS.Load(), rssBytes(t, false)))
			p.peakMem.Store(max(p.peakMem.Load(), goMemory()))
		}
	})
	return p
}

// stop ends the probe and returns the peak RSS, the peak Go memory and the
// 200s counted.
func (p *healthProbe) stop() (uint64, uint64, int64) {
	close(p.done)
	p.wg.Wait()
	return p.peakRSS.Load(), p.peakMem.Load(), p.healthy.Load()
}

// goMemory is the Go heap and goroutine stacks in use: what the
// connections hold, without the race detector's shadow memory.
func goMemory() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// rssBytes is this process's resident set (VmRSS), after a GC if gc is set
// (for the baseline, so that earlier tests' garbage does not count; not
// during the attack, where a GC every probe would slow omq down).
func rssBytes(t *testing.T, gc bool) uint64 {
	if gc {
		runtime.GC()
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parse VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// With a cap of N connections, N open keep-alives leave the next client
// unserved (accepted by the kernel, not by omq) until one of them closes.
func TestConnectionCapHolds(t *testing.T) {
	t.Parallel()
	const capN = 4
	c := testConfig(t)
	c.HTTPMaxConns = capN
	s := start(t, c, nil)
	addr := s.HTTPAddr()
	held := make([]net.Conn, capN)
	for i := range held {
		held[i] = keepAlive(t, addr)
	}
	extra, err := net.Dial("tcp", addr)
	require.NoError(t, err, "the kernel still accepts past the cap")
	defer extra.Close()
	_, err = io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: omq\r\n\r\n")
	require.NoError(t, err)
	r := bufio.NewReader(extra)
	// Absence can only be shown by waiting: 300 ms without an answer.
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = r.Peek(1)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "connection %d was served past a cap of %d (err %v)", capN+1, capN, err)

	require.NoError(t, held[0].Close())
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err, "served once a held connection closed")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, h := range held[1:] {
		h.Close()
	}
}

// keepAlive opens a connection, has one request answered on it, and keeps
// it open.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: omq\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return conn
}

// With --http-tls-cert and --http-tls-key the listener speaks HTTPS only.
func TestHTTPSListener(t *testing.T) {
	t.Parallel()
	cert := httpservetest.SelfSigned(t)
	c := testConfig(t)
	c.HTTPTLSCert, c.HTTPTLSKey = cert.CertFile, cert.KeyFile
	s := start(t, c, nil)
	require.Equal(t, "https", s.HTTPScheme())

	resp, err := cert.Client().Get("https://" + s.HTTPAddr() + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "alive")

	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err = plain.Get("http://" + s.HTTPAddr() + "/healthz")
	if err == nil {
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP was served: %s", body)
		require.NotContains(t, string(body), "alive")
	}
}
