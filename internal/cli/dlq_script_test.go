package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/cli"
	"github.com/openmoove/omq/internal/scripttest"
	"github.com/openmoove/omq/streams"
)

// TestMain makes this test binary also the omq command (and a fake
// editor) for the scripts of testdata, which run them as a user types
// them.
func TestMain(m *testing.M) {
	testscript.Main(leakCheck{m}, map[string]func(){
		"omq": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
		},
		// fakeeditor SRC FILE replaces FILE with SRC, as a person would in
		// $EDITOR; SRC is relative to the directory omq runs in.
		"fakeeditor": func() {
			if len(os.Args) != 3 {
				fmt.Fprintln(os.Stderr, "usage: fakeeditor SRC FILE")
				os.Exit(2)
			}
			b, err := os.ReadFile(os.Args[1])
			if err == nil {
				err = os.WriteFile(os.Args[2], b, 0o600)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		},
	})
}

// leakCheck runs goleak after the tests of this process.
type leakCheck struct{ m *testing.M }

func (l leakCheck) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
	}
	return code
}

func TestDLQScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "dlq"),
		RequireExplicitExec: false,
		Setup: func(e *testscript.Env) error {
			e.Values[stateKey{}] = &scriptState{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"natsserver": cmdNATSServer,
			"dlqseed":    cmdDLQSeed,
			"streammsgs": cmdStreamMsgs,
			"streamget":  cmdStreamGet,
			"exits":      scripttest.Exits,
			"filemode":   scripttest.FileMode,
		},
	})
}

type stateKey struct{}

// scriptState is one script's NATS server and connection.
type scriptState struct {
	srv *broker.Embedded
	nc  *nats.Conn
	js  jetstream.JetStream
	top streams.Topology
	seq uint64 // original sequence of the next seeded dead letter
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func scriptCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 20*time.Second)
}

// natsserver [-maxbytes N] starts an embedded JetStream server on a free
// loopback port, provisions omq's streams, and points omq at it with
// OMQ_NATS_URL and its credentials in OMQ_NATS_USER and OMQ_NATS_PASSWORD.
func cmdNATSServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! natsserver")
	}
	st := state(ts)
	top := streams.Topology{Prefix: "openmoove"}
	if len(args) == 2 && args[0] == "-maxbytes" {
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		top.DLQMaxBytes = n
	}
	st.top = top.WithDefaults()
	srv, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: ts.MkAbs("nats-store"), Listen: "127.0.0.1:0", ServerName: "script"})
	ts.Check(err)
	ts.Defer(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	nc, err := nats.Connect(srv.ClientURL(), srv.ClientOptions()...)
	ts.Check(err)
	ts.Defer(nc.Close)
	js, err := jetstream.New(nc)
	ts.Check(err)
	ctx, cancel := scriptCtx()
	defer cancel()
	_, err = streams.Apply(ctx, js, st.top, nil)
	ts.Check(err)
	st.srv, st.nc, st.js = srv, nc, js
	ts.Setenv("OMQ_NATS_URL", srv.ClientURL())
	ts.Setenv("OMQ_NATS_USER", srv.Credentials().User)
	ts.Setenv("OMQ_NATS_PASSWORD", srv.Credentials().Password)
}

// dlqseed [-ago DURATION] N KIND SUBJECT [ERROR...] dead-letters N
// messages of SUBJECT with deadletter.Write, as a worker does: a property
// creation with no professional email on the create_property subject, an
// event elsewhere.
func cmdDLQSeed(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! dlqseed")
	}
	st := state(ts)
	failedAt := time.Now().UTC()
	if len(args) > 1 && args[0] == "-ago" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		failedAt = failedAt.Add(-d)
		args = args[2:]
	}
	if len(args) < 3 {
		ts.Fatalf("usage: dlqseed [-ago DURATION] N KIND SUBJECT [ERROR...]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	kind, subject := args[1], args[2]
	errText := strings.Join(args[3:], " ")
	if errText == "" {
		errText = "openmoove: PATCH /milestones/9/: 404 Not Found: Milestone not found"
	}
	ctx, cancel := scriptCtx()
	defer cancel()
	for range n {
		st.seq++
		stream, body := st.top.EventsStream(), fmt.Sprintf(`{"id":"ev-%d","type":%q,"transaction_id":"T-%d","occurred_at":"2025-06-01T01:00:00Z","source":"crm"}`,
			st.seq, subject[strings.LastIndex(subject, ".")+1:], st.seq)
		if subject == st.top.CreatePropertySubject() {
			stream, body = st.top.CommandsStream(), fmt.Sprintf(`{"request_id":"req-%d","first_name":"Ann","last_name":"Lee","email":"ann@example.com","phone_number":"07700 900123","property_address":"1 High St, London","property_postcode":"SW1A 1AA"}`, st.seq)
		}
		_, err := deadletter.Write(ctx, st.js, st.top, deadletter.Failed{
			Subject: subject, Data: []byte(body), Stream: stream, Seq: st.seq,
			Header:     nats.Header{jetstream.MsgIDHeader: {fmt.Sprintf("msg-%d", st.seq)}, "Omq-Source": {"crm"}},
			Deliveries: 1, Kind: kind, Error: errText, Worker: "script", FailedAt: failedAt,
			History: []deadletter.ErrorRecord{{At: failedAt.Format(time.RFC3339), Kind: kind, Error: errText, Delivery: 1}},
		})
		ts.Check(err)
	}
}

// streammsgs STREAM N checks that STREAM holds N messages.
func cmdStreamMsgs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: streammsgs STREAM N")
	}
	want, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	ctx, cancel := scriptCtx()
	defer cancel()
	s, err := state(ts).js.Stream(ctx, args[0])
	ts.Check(err)
	info, err := s.Info(ctx)
	ts.Check(err)
	if got := info.State.Msgs; (got == want) == neg {
		ts.Fatalf("%s holds %d messages; want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// streamget STREAM SEQ prints a message: its subject, its headers sorted
// and its body.
func cmdStreamGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: streamget STREAM SEQ")
	}
	seq, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	ctx, cancel := scriptCtx()
	defer cancel()
	s, err := state(ts).js.Stream(ctx, args[0])
	ts.Check(err)
	m, err := s.GetMsg(ctx, seq)
	ts.Check(err)
	w := ts.Stdout()
	fmt.Fprintf(w, "subject: %s\n", m.Subject)
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, strings.Join(m.Header[k], ","))
	}
	fmt.Fprintf(w, "\n%s\n", m.Data)
}
