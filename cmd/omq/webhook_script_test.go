package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openmoove/omq/internal/scripttest"
)

func init() {
	scriptCmds["httppost"] = cmdHTTPPost
	scriptCmds["natslast"] = cmdNATSLast
	scriptCmds["exits"] = scripttest.Exits
}

// httppost URL BODY [HEADER=VALUE...] posts BODY with the given headers
// (split at the first "=", so a value may hold "=") and prints
// "STATUS BODY", such as "401 Unauthorized …". It fails on a status of 400
// or more (or, negated, on one below 400).
func cmdHTTPPost(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: httppost URL BODY [HEADER=VALUE...]")
	}
	req, err := http.NewRequest(http.MethodPost, args[0], strings.NewReader(args[1]))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range args[2:] {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			ts.Fatalf("httppost: header %q: want NAME=VALUE", h)
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s %s", resp.Status, body)
	if failed := resp.StatusCode >= 400; failed != neg {
		ts.Fatalf("POST %s: %s %s", args[0], resp.Status, body)
	}
}

// natslast SUBJECT prints the data of the last message on SUBJECT (in the
// stream that holds it) from the JetStream on $NATS_ADDR; it fails when
// there is none.
func cmdNATSLast(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: natslast SUBJECT")
	}
	nc, err := scripttest.ConnectNATS(ts)
	ts.Check(err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name, err := js.StreamNameBySubject(ctx, args[0])
	ts.Check(err)
	s, err := js.Stream(ctx, name)
	ts.Check(err)
	m, err := s.GetLastMsgForSubject(ctx, args[0])
	if err != nil {
		ts.Fatalf("natslast %s: %v", args[0], err)
	}
	fmt.Fprintf(ts.Stdout(), "%s\n", m.Data)
}
