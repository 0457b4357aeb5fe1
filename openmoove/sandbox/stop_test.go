package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// A call still in progress at Stop's deadline (a client that promised a
// body and never sends it) is cut off, and Stop says so; a second Stop, or
// Close, returns the same result.
func TestStopTimeoutSaysCallsWereCutOff(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Config{Keys: map[string]string{key: "partner-a"}})
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	require.Equal(t, "sandbox", sb.Name())

	conn, err := net.Dial("tcp", sb.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST %sclients/ HTTP/1.1\r\nHost: sandbox\r\nX-API-KEY: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", sandbox.APIPrefix, key)
	require.NoError(t, err)
	// The server says "100 Continue" when the handler starts reading the
	// body: from here the call is in progress.
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "100 Continue")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = sb.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "sandbox: calls still in progress, cut off")
	require.Equal(t, err, sb.Stop(context.Background()), "a second Stop returns the first result")
	require.Equal(t, err, sb.Close(context.Background()))
}
