package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openmoove/omq/internal/cli"
	"github.com/openmoove/omq/internal/scripttest"
)

// TestMain lets scripts run the real omq command line as "omq": testscript
// re-executes this test binary as omq, so `exec omq run &` is a separate
// process that gets real signals.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"omq": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
		},
	})
}

// scriptCmds are the helper commands scripts may use. Other _test.go files
// in this package add theirs in an init func.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"waitready": cmdWaitReady,
	"httpget":   cmdHTTPGet,
	"natspub":   cmdNATSPub,
	"sandbox":   cmdSandbox,
	"filemode":  scripttest.FileMode,
}

// TestScripts runs every testdata/script/*.txtar as a user would type it.
// Each script gets free loopback ports in $HTTP_ADDR, $NATS_ADDR and
// $SANDBOX_ADDR, set as OMQ_HTTP, OMQ_NATS_LISTEN and OMQ_SANDBOX_ADDR so a
// plain `omq run` and `omq publish` find each other, and its own data dir.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			ports, err := freePorts(3)
			if err != nil {
				return err
			}
			httpAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
			natsAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
			sandboxAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
			for k, v := range map[string]string{
				"HTTP_ADDR": httpAddr, "NATS_ADDR": natsAddr, "SANDBOX_ADDR": sandboxAddr,
				"OMQ_HTTP": httpAddr, "OMQ_NATS_LISTEN": natsAddr, "OMQ_SANDBOX_ADDR": sandboxAddr,
				"OMQ_DATA_DIR": env.WorkDir + "/omq-data", "OMQ_LOG_FORMAT": "json",
				"OMQ_SHUTDOWN_TIMEOUT": "20s",
			} {
				env.Setenv(k, v)
			}
			return nil
		},
	})
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitready [timeout] polls http://$HTTP_ADDR/readyz until it answers 200.
func cmdWaitReady(ts *testscript.TestScript, neg bool, args []string) {
	timeout := 20 * time.Second
	if len(args) == 1 {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		timeout = d
	}
	url := "http://" + ts.Getenv("HTTP_ADDR") + "/readyz"
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if neg {
					ts.Fatalf("%s is ready, want not ready", url)
				}
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !neg {
		ts.Fatalf("%s not ready within %s; last answer: %s", url, timeout, last)
	}
}

// httpget URL prints the body; it fails on a status of 400 or more (or,
// negated, on one below 400).
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: httpget URL")
	}
	resp, err := http.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", body)
	if failed := resp.StatusCode >= 400; failed != neg {
		ts.Fatalf("GET %s: %d %s", args[0], resp.StatusCode, body)
	}
}

// natspub [-anonymous | -password PW] SUBJECT BODY publishes to JetStream
// on $NATS_ADDR with omq's generated credentials, as any NATS client would,
// and waits for the ack; -anonymous connects without credentials and
// -password with a wrong password. Negated, it wants the connection or the
// publish refused.
func cmdNATSPub(ts *testscript.TestScript, neg bool, args []string) {
	var opts []nats.Option
	switch {
	case len(args) == 3 && args[0] == "-anonymous":
		opts, args = []nats.Option{nats.UserInfo("", "")}, args[1:]
	case len(args) == 4 && args[0] == "-password":
		opts, args = []nats.Option{nats.UserInfo("omq", args[1])}, args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: natspub [-anonymous | -password PW] SUBJECT BODY")
	}
	nc, err := scripttest.ConnectNATS(ts, append(opts, nats.MaxReconnects(0))...)
	if err == nil {
		defer nc.Close()
		var js nats.JetStreamContext
		if js, err = nc.JetStream(); err == nil {
			_, err = js.Publish(args[0], []byte(args[1]))
		}
	}
	if err != nil {
		fmt.Fprintf(ts.Stdout(), "%v\n", err)
	}
	if (err != nil) != neg {
		ts.Fatalf("publish %s: %v", args[0], err)
	}
}

// sandbox METHOD PATH [BODY] calls the sandbox at $SANDBOX_ADDR with the
// in-process sandbox's key and prints the answer; PATH is relative to
// /api/v1/partners/ unless it starts with /.
func cmdSandbox(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: sandbox METHOD PATH [BODY]")
	}
	path := args[1]
	if !strings.HasPrefix(path, "/") {
		path = "/api/v1/partners/" + path
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	req, err := http.NewRequest(args[0], "http://"+ts.Getenv("SANDBOX_ADDR")+path, body)
	ts.Check(err)
	req.Header.Set("X-API-KEY", "om_test_key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", b)
	if failed := resp.StatusCode >= 400; failed != neg {
		ts.Fatalf("%s %s: %d %s", args[0], path, resp.StatusCode, b)
	}
}
