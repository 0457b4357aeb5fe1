package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["waitget"] = cmdWaitGet
	scriptCmds["ingest"] = cmdIngest
}

// waitget URL REGEXP polls GET URL (with the sandbox's key) until the body
// matches REGEXP, for up to 15 s, and prints the last body.
func cmdWaitGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitget URL REGEXP")
	}
	re := regexp.MustCompile(args[1])
	var body []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodGet, args[0], nil)
		ts.Check(err)
		req.Header.Set("X-API-KEY", "om_test_key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if re.Match(body) {
			ts.Stdout().Write(body)
			return
		}
	}
	ts.Fatalf("GET %s never matched %s; last body: %s", args[0], args[1], body)
}

// ingest TOKEN BODY posts BODY to http://$HTTP_ADDR/v1/events with the
// bearer TOKEN and prints "STATUS BODY".
func cmdIngest(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: ingest TOKEN BODY")
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+ts.Getenv("HTTP_ADDR")+"/v1/events", strings.NewReader(args[1]))
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+args[0])
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ts.Stdout().Write([]byte(resp.Status + " " + string(b)))
}
