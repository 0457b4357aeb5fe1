package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["waitcalls"] = cmdWaitCalls
}

// waitcalls PATH-REGEXP N waits until the sandbox at $SANDBOX_ADDR has
// answered N more partner calls whose path matches than when it started
// (its journal, GET /_sandbox/requests): the sign that a role ran N more
// times, such as the monitor, which reads a property's detail once a check
// while someone is invited.
func cmdWaitCalls(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitcalls PATH-REGEXP N")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	count := func() int {
		resp, err := http.Get("http://" + ts.Getenv("SANDBOX_ADDR") + "/_sandbox/requests")
		ts.Check(err)
		defer resp.Body.Close()
		var calls []struct {
			Path string `json:"path"`
		}
		ts.Check(json.NewDecoder(resp.Body).Decode(&calls))
		c := 0
		for _, call := range calls {
			if re.MatchString(call.Path) {
				c++
			}
		}
		return c
	}
	want, last := count()+n, 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if last = count(); last >= want {
			return
		}
	}
	ts.Fatalf("%s", fmt.Sprintf("the sandbox answered %d calls matching %s, want %d within 30s", last, args[0], want))
}
