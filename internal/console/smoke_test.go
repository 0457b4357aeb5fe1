package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/testkit"
)

func TestAnonymousOverviewRendersReadOnly(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	cfg := config.Defaults()
	c, err := console.New(t.Context(), console.Options{JS: srv.JS, Topology: top, Config: cfg, Addr: "127.0.0.1:8080"})
	require.NoError(t, err)
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	res, err := http.Get(ts.URL + "/console/overview")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(b))
	require.Contains(t, string(b), "anonymous · viewer")
	require.Contains(t, string(b), "Breakers")
}
