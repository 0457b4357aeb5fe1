package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/streams"
)

// TestEdgeInputRefused feeds omq publish and omq create-property hostile
// values: each exits 2 with one line naming the flag, and queues nothing.
func TestEdgeInputRefused(t *testing.T) {
	t.Parallel()
	url, count := publishEnv(t)
	long := strings.Repeat("a", 300)
	prop := []string{"create-property", "--first-name", "Jane", "--last-name", "Doe", "--email", "jane@example.com",
		"--phone-number", "07700900123", "--property-address", "1 High Street", "--property-postcode", "SW1A 1AA",
		"--estate-agent-email", "agent@agency.example"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"publish", "offer_accepted", "--transaction", ".."}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "a.b"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "*"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", ">"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "a b"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx\x00"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx\xff"}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", long}, "--transaction"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx", "--id", "a b"}, "--id"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx", "--id", long}, "--id"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx", "--id", "a.*"}, "--id"},
		{[]string{"publish", "offer_accepted", "--transaction", "tx", "--actor", long}, "--actor"},
		{[]string{"publish", "offer.accepted", "--transaction", "tx"}, "TYPE"},
		{[]string{"publish", "*", "--transaction", "tx"}, "TYPE"},
		{append(prop, "--request-id", "a b"), "--request-id"},
		{append(prop, "--request-id", long), "--request-id"},
		{append(prop, "--request-id", "a.>"), "--request-id"},
		{append(prop, "--request-id", "r\x00"), "--request-id"},
		{append(prop[:len(prop)-2], "--estate-agent-email", "not-an-email"), "--estate-agent-email: "},
		{append(prop[:len(prop)-2], "--estate-agent-email", "x", "--email", "y"), "--email: "},
		{append(prop[:len(prop)-2], "--estate-agent-email", "x", "--email", "y"), "--estate-agent-email: "},
	} {
		code, out, errOut := runOMQ(append(c.args, "--nats-url", url)...)
		require.Equal(t, 2, code, "%q: %s%s", c.args, out, errOut)
		require.Contains(t, errOut, c.want, "%q", c.args)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
	}
	require.Zero(t, count())
}

// TestImportHostileRows: rows with hostile request ids and fields are
// reported by line and nothing of them is queued; the good row is.
func TestImportHostileRows(t *testing.T) {
	t.Parallel()
	url, _ := publishEnv(t)
	good := `{"first_name":"Jane","last_name":"Doe","email":"jane@example.com","phone_number":"07700900123","property_address":"1 High Street","property_postcode":"SW1A 1AA","estate_agent_email":"agent@agency.example"`
	lines := []string{
		good + `,"request_id":"ok-1"}`,
		good + `,"request_id":"a b"}`,
		good + `,"request_id":"` + strings.Repeat("r", 300) + `"}`,
		good + `,"request_id":"a.*.>"}`,
		good + `,"request_id":7}`,
		good + `,"extra":"x"}`,
		`[` + good + `}]`,
		"{\"first_name\":\"J\x00\"}",
		good + `,"request_id":"a\u0000"}`,
		`null`,
	}
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	code, out, errOut := runOMQ("import", path, "--nats-url", url)
	require.Equal(t, 1, code, "%s%s", out, errOut)
	all := out + errOut
	for line := 2; line <= len(lines); line++ {
		require.Regexp(t, `(?i)line `+strconv.Itoa(line)+`\b`, all, "line %d reported", line)
	}
	// Only the good row was queued.
	s := natsCount(t, url)
	require.EqualValues(t, 1, s)
}

func natsCount(t *testing.T, url string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := js.Stream(context.Background(), streams.New("openmoove").CommandsStream())
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}
