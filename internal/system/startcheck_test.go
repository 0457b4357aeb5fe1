package system_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// closedPort is a loopback address nothing listens on: it was bound and
// closed again, so a connection to it is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// The start-up check logs exactly one line, whose level and text name the
// setting to fix, and never the key or the URL's password.
func TestStartCheckNamesTheSettingToFix(t *testing.T) {
	t.Parallel()
	sb, _ := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})
	down, _ := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})
	require.NoError(t, down.SetFaults(sandbox.Faults{Outage: true}))
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	root := strings.TrimSuffix(sb.URL(), "/api/v1/partners/") + "/"
	const wrongKey = "om_wrong_key_s3cr3t"

	cases := []struct {
		name, url, key string
		level          string
		want           []string
	}{
		{"good", sb.URL(), sandbox.DefaultAPIKey, "INFO", []string{"check passed"}},
		{"wrong key", sb.URL(), wrongKey, "ERROR", []string{"--openmoove-api-key", "OMQ_OPENMOOVE_API_KEY_FILE", "401"}},
		{"base path missing", root, sandbox.DefaultAPIKey, "ERROR", []string{"--openmoove-url", "base URL looks wrong", "/api/v1/partners/"}},
		{"refused", "http://" + closedPort(t) + "/api/v1/partners/", sandbox.DefaultAPIKey, "ERROR", []string{"--openmoove-url", "connection refused"}},
		{"unknown host", "http://omq-no-such-host.invalid/api/v1/partners/", sandbox.DefaultAPIKey, "ERROR", []string{"--openmoove-url", "no such host"}},
		{"TLS to plain HTTP", strings.Replace(sb.URL(), "http://", "https://", 1), sandbox.DefaultAPIKey, "ERROR", []string{"--openmoove-url", "http"}},
		{"outage", down.URL(), sandbox.DefaultAPIKey, "WARN", []string{"goes on", "503"}},
		{"timeout", hang.URL + "/api/v1/partners/", sandbox.DefaultAPIKey, "WARN", []string{"goes on", "timed out"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var buf testkit.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			api, err := openmoove.New(openmoove.Config{BaseURL: c.url, APIKey: c.key})
			require.NoError(t, err)
			t.Cleanup(api.CloseIdleConnections)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			begin := time.Now()
			system.CheckAPI(ctx, log, api, c.url, c.key)
			require.Less(t, time.Since(begin), time.Second, "bounded by its context")

			out := buf.String()
			require.Equal(t, 1, strings.Count(out, "\n"), "one line:\n%s", out)
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &rec))
			require.Equal(t, c.level, rec["level"], out)
			for _, w := range c.want {
				require.Contains(t, out, w)
			}
			require.NotContains(t, out, wrongKey)
		})
	}
}

// Roles that never call OpenMoove (ingest, the dead-letter mover) start
// without the check: omq run --only ingest spends no call and logs no line
// about an API it does not use.
func TestStartCheckOnlyWhenARoleCallsTheAPI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		only  []string
		check bool
	}{
		{[]string{"ingest", "deadletters"}, false},
		{[]string{"ingest", "milestones"}, true},
	} {
		t.Run(strings.Join(c.only, ","), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.OpenMooveURL, cfg.OpenMooveAPIKey = "http://"+closedPort(t)+"/api/v1/partners/", "om_test_key"
			var buf testkit.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := system.Start(ctx, system.Options{Config: cfg, Logger: log, Only: c.only})
			require.NoError(t, err)
			stopCtx, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancelStop()
			require.NoError(t, s.Stop(stopCtx))
			require.Equal(t, c.check, strings.Contains(buf.String(), `"component":"api-check"`), "roles %v:\n%s", c.only, buf.String())
		})
	}
}
