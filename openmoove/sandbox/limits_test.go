package sandbox_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// The sandbox's listener is built by httpserve like omq's own: an idle
// keep-alive connection is closed after Limits.IdleTimeout, and a stalled
// body after Limits.ReadTimeout.
func TestSandboxClosesIdleAndStalledConnections(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	b := setup(t, sandbox.Config{Limits: httpserve.Limits{IdleTimeout: timeout, ReadTimeout: timeout}})
	addr := b.sb.Addr()

	idle := dial(t, addr, "GET /api/v1/partners/products/ HTTP/1.1\r\nHost: sandbox\r\nX-API-KEY: "+key+"\r\n\r\n")
	r := bufio.NewReader(idle)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	requireClosedWithin(t, r, idle, timeout+5*time.Second, "idle keep-alive")

	stalled := dial(t, addr, "POST /api/v1/partners/clients/ HTTP/1.1\r\nHost: sandbox\r\nX-API-KEY: "+key+
		"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"first_name\":")
	requireClosedWithin(t, stalled, stalled, timeout+5*time.Second, "stalled body")
}

func dial(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, send)
	require.NoError(t, err)
	return conn
}

// requireClosedWithin reads (and drops) what the server sends until it
// closes the connection, which must happen within limit.
func requireClosedWithin(t *testing.T, r io.Reader, conn net.Conn, limit time.Duration, what string) {
	t.Helper()
	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(start.Add(limit)))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "%s connection still open after %v", what, limit)
	t.Logf("%s connection closed by the sandbox after %v", what, time.Since(start))
}
