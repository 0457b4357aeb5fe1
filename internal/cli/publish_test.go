package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
)

func publishEnv(t *testing.T) (url string, count func() uint64) {
	t.Helper()
	s, top := testkit.JetStream(t, natstest.Listen())
	return s.AuthURL(), func() uint64 {
		st, err := s.JS.Stream(context.Background(), top.EventsStream())
		require.NoError(t, err)
		info, err := st.Info(context.Background())
		require.NoError(t, err)
		return info.State.Msgs
	}
}

func runOMQ(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &Env{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }})
	return code, out.String(), errOut.String()
}

func TestPublishOne(t *testing.T) {
	t.Parallel()
	url, count := publishEnv(t)
	code, out, errOut := runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--id", "e-1", "--actor", "crm", "--data", "k=v", "--nats-url", url)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "queued legal_pack_completed e-1 for transaction tx-1")
	code, out, _ = runOMQ("publish", "legal_pack_completed", "--transaction", "tx-1", "--id", "e-1", "--nats-url", url)
	require.Equal(t, 0, code)
	require.Contains(t, out, "already queued")
	require.EqualValues(t, 1, count())
}

func TestPublishUsageErrors(t *testing.T) {
	t.Parallel()
	url, count := publishEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"publish"}, "missing event TYPE"},
		{[]string{"publish", "house_sold", "--transaction", "tx"}, `TYPE: unknown type "house_sold"`},
		{[]string{"publish", "offer_accepted"}, "--transaction: required"},
		{[]string{"publish", "offer_accepted", "--transaction", "a/b"}, "--transaction: must be"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx", "--data", "novalue"}, `invalid --data "novalue": want key=value`},
		{[]string{"publish", "offer_accepted", "--file", "x.jsonl"}, "not both"},
	} {
		code, _, errOut := runOMQ(append(c.args, "--nats-url", url)...)
		require.Equal(t, 2, code, c.args)
		require.Contains(t, errOut, c.want)
		require.Regexp(t, `--help|such as`, errOut, "the error says what to try")
	}
	require.Zero(t, count())
}

func TestPublishFile(t *testing.T) {
	t.Parallel()
	url, count := publishEnv(t)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	lines := `{"id":"f-1","type":"offer_accepted","transaction_id":"tx-1"}
{"type":"offer_accepted"}
{"id":"f-2","type":"completion_date_set","transaction_id":"tx-1"}

not json
{"id":"f-3","type":"house_sold","transaction_id":"tx-1"}
{"id":"f-1","type":"offer_accepted","transaction_id":"tx-1"}
`
	require.NoError(t, os.WriteFile(path, []byte(lines), 0o600))
	code, out, errOut := runOMQ("publish", "--file", path, "--nats-url", url)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "line 2: invalid event: transaction_id: required")
	require.Contains(t, errOut, "line 5: invalid event: body")
	require.Contains(t, errOut, `line 6: invalid event: type: unknown type "house_sold"`)
	require.Contains(t, out, "published 2, already queued 1, invalid 3, failed 0")
	require.NotContains(t, errOut, "publishing", "no progress bar off a terminal")
	require.EqualValues(t, 2, count())
}
