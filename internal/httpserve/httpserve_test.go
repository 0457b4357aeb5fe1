package httpserve_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/httpserve/httpservetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	d := httpserve.Limits{}.WithDefaults()
	require.Equal(t, httpserve.Limits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10, MaxConns: 512}, d)
	// The header timeout never outlasts the whole-request one.
	short := httpserve.Limits{ReadTimeout: 2 * time.Second}.WithDefaults()
	require.Equal(t, 2*time.Second, short.ReadHeaderTimeout)
	// Negative values are no way to turn a limit off.
	neg := httpserve.Limits{ReadTimeout: -1, MaxConns: -1}.WithDefaults()
	require.Equal(t, httpserve.DefaultReadTimeout, neg.ReadTimeout)
	require.Equal(t, httpserve.DefaultMaxConns, neg.MaxConns)
}

// Headers past MaxHeaderBytes get 431, not Go's 1 MiB allowance.
func TestHeaderCap(t *testing.T) {
	t.Parallel()
	srv := serve(t, httpserve.Options{Limits: httpserve.Limits{MaxHeaderBytes: 1024}})
	req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

// A server that never served (a start that failed later) still frees its
// port on Shutdown.
func TestShutdownWithoutServeFreesThePort(t *testing.T) {
	t.Parallel()
	srv, err := httpserve.Listen(t.Context(), httpserve.Options{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()})
	require.NoError(t, err)
	addr := srv.Addr()
	require.NoError(t, srv.Shutdown(t.Context()))
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "port still bound after Shutdown")
	ln.Close()
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cert := httpservetest.SelfSigned(t)
	tc, err := httpserve.LoadTLS(cert.CertFile, cert.KeyFile)
	require.NoError(t, err)
	srv := serve(t, httpserve.Options{TLS: tc})
	require.True(t, srv.TLS())
	client := cert.Client()
	client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	resp, err := client.Get("https://" + srv.Addr() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
	require.Equal(t, "HTTP/1.1", resp.Proto, "HTTP/2 would multiplex requests past the connection cap")
	_, err = httpserve.LoadTLS(cert.CertFile, cert.CertFile)
	require.ErrorContains(t, err, cert.CertFile, "the error names the files")
}

// serve starts a server answering 418 on a free loopback port.
func serve(t *testing.T, opts httpserve.Options) *httpserve.Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	opts.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv, err := httpserve.Listen(t.Context(), opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-done, "Serve returns nil after Shutdown")
		http.DefaultClient.CloseIdleConnections()
	})
	return srv
}
