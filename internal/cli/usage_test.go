package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A wrong argument count, a mistyped command or a bad flag value is one
// line, exit 2, naming the command's own usage and --help.
func TestUsageErrorsNameTheCommand(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "show"}, "accepts 1 arg(s), received 0; usage: omq dlq show ID (see omq dlq show --help)"},
		{[]string{"dlq", "edit", "1", "2"}, "usage: omq dlq edit ID (see omq dlq edit --help)"},
		{[]string{"import"}, "usage: omq import FILE (see omq import --help)"},
		{[]string{"import", "status"}, "usage: omq import status FILE (see omq import status --help)"},
		{[]string{"track"}, "usage: omq track TXID... (see omq track --help)"},
		{[]string{"version", "extra"}, "see omq version --help"},
		{[]string{"publsh"}, `unknown command "publsh" for "omq"; did you mean publish? (omq --help lists the commands)`},
		{[]string{"dlq", "list", "--limit", "abc"}, "see omq dlq list --help"},
		{[]string{"import", "status", "x.csv", "--bogus"}, "unknown flag: --bogus; see omq import status --help"},
	} {
		code, out, errOut := runOMQ(c.args...)
		require.Equal(t, 2, code, c.args)
		require.Empty(t, out, c.args)
		require.Contains(t, errOut, c.want, c.args)
		require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
	}
}

// --replicas 3 against a single server is one line naming the flag, not the
// server's refusal repeated for each of the twelve streams and buckets.
func TestStreamsApplyReplicasOnASingleServer(t *testing.T) {
	t.Parallel()
	url, _ := publishEnv(t)
	code, _, errOut := runOMQ("streams", "apply", "--replicas", "3", "--nats-url", url)
	require.Equal(t, 2, code, errOut)
	require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
	require.Contains(t, errOut, "--replicas 3: this NATS server is not clustered")
	require.Contains(t, errOut, "--replicas 1")
}
