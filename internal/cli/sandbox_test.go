package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/testkit"
)

func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	var out, errOut testkit.Buffer
	sigs := make(chan os.Signal, 1)
	e := &Env{Stdout: &out, Stderr: &errOut, Signals: sigs, Exit: func(int) {},
		LookupEnv: func(string) (string, bool) { return "", false }}
	done := make(chan int)
	go func() {
		done <- Main(context.Background(), []string{"sandbox", "--addr", "127.0.0.1:0", "--api-key", "om_cli_key", "--seed", "2"}, e)
	}()
	urlRE := regexp.MustCompile(`partner API  (\S+)`)
	require.Eventually(t, func() bool { return urlRE.MatchString(out.String()) }, 5e9, 1e7)
	base := urlRE.FindStringSubmatch(out.String())[1]
	require.Equal(t, 2, strings.Count(out.String(), "demo property "))
	require.NotContains(t, out.String()+errOut.String(), "om_cli_key", "the key is never printed")

	req, err := http.NewRequestWithContext(t.Context(), "GET", base+"properties/", nil)
	require.NoError(t, err)
	req.Header.Set("X-API-KEY", "om_cli_key")
	hc := &http.Client{Transport: &http.Transport{}}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	hc.CloseIdleConnections()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), `"count":2`)

	sigs <- syscall.SIGTERM
	require.Equal(t, 0, <-done, errOut.String())
}

func TestSandboxCommandUsage(t *testing.T) {
	t.Parallel()
	var out, errOut testkit.Buffer
	e := &Env{Stdout: &out, Stderr: &errOut, Exit: func(int) {}, LookupEnv: func(string) (string, bool) { return "", false }}
	code := Main(context.Background(), []string{"sandbox", "--webhook-url", "http://127.0.0.1:1/hook"}, e)
	require.Equal(t, 2, code)
	require.Contains(t, errOut.String(), "WebhookSecret is required")
	require.Contains(t, errOut.String(), "omq sandbox --help")

	out = testkit.Buffer{}
	require.Equal(t, 0, Main(context.Background(), []string{"sandbox", "--help"}, &Env{Stdout: &out, Stderr: &errOut}))
	require.Contains(t, out.String(), "omq sandbox --addr 127.0.0.1:8090 --api-key om_test_key")
}

// omq sandbox logs as omq run does: --log-format (auto is JSON off a
// terminal), so one log pipeline reads both.
func TestSandboxLogsLikeRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, `{"time":`},
		{[]string{"--log-format", "json", "--log-level", "warn"}, ""},
		{[]string{"--log-format", "text"}, ""},
	} {
		var out, errOut testkit.Buffer
		sigs := make(chan os.Signal, 1)
		e := &Env{Stdout: &out, Stderr: &errOut, Signals: sigs, Exit: func(int) {},
			LookupEnv: func(string) (string, bool) { return "", false }}
		done := make(chan int)
		go func() {
			done <- Main(context.Background(), append([]string{"sandbox", "--addr", "127.0.0.1:0"}, c.args...), e)
		}()
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "partner API") }, 5e9, 1e7)
		switch {
		case c.want != "":
			require.True(t, strings.HasPrefix(errOut.String(), c.want), "%v: %s", c.args, errOut.String())
		case slices.Contains(c.args, "warn"):
			require.Empty(t, errOut.String(), "--log-level warn hides the info line")
		default:
			require.Contains(t, errOut.String(), "INF sandbox listening", c.args)
		}
		sigs <- syscall.SIGTERM
		require.Equal(t, 0, <-done, errOut.String())
	}
}
