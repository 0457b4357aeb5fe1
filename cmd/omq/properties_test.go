package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openmoove/omq/internal/scripttest"
)

func init() {
	scriptCmds["propcsv"] = cmdPropCSV
	scriptCmds["waitprops"] = cmdWaitProps
	scriptCmds["waitmsgs"] = cmdWaitMsgs
}

// propcsv FILE ROWS BADEVERY writes a CSV of ROWS property creations with a
// header row; every BADEVERY-th row has an invalid phone number, so its
// file line is 1+k*BADEVERY.
func cmdPropCSV(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: propcsv FILE ROWS BADEVERY")
	}
	rows, err := strconv.Atoi(args[1])
	ts.Check(err)
	every, err := strconv.Atoi(args[2])
	ts.Check(err)
	var b strings.Builder
	b.WriteString("first_name,last_name,email,phone_number,property_address,property_postcode,estate_agent_email,products\n")
	for i := 1; i <= rows; i++ {
		phone := fmt.Sprintf("07700 9%05d", i)
		if every > 0 && i%every == 0 {
			phone = "12345"
		}
		fmt.Fprintf(&b, "Jane,Seller %d,jane%d@example.com,%s,\"%d Import Street, London\",SW1A 1AA,agent@example.com,moove-ready-pack\n", i, i, phone, i)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}

// waitprops N [TIMEOUT] waits until the sandbox at $SANDBOX_ADDR holds
// exactly N properties, then checks that it stays at N for a moment.
func cmdWaitProps(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitprops N [TIMEOUT]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	timeout := 30 * time.Second
	if len(args) == 2 {
		timeout, err = time.ParseDuration(args[1])
		ts.Check(err)
	}
	count := func() int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ts.Getenv("SANDBOX_ADDR")+"/api/v1/partners/properties/?page_size=1", nil)
		req.Header.Set("X-API-KEY", "om_test_key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var page struct {
			Count int `json:"count"`
		}
		if json.NewDecoder(resp.Body).Decode(&page) != nil {
			return -1
		}
		return page.Count
	}
	waitFor(ts, timeout, fmt.Sprintf("%d properties in the sandbox", want), count, want)
}

// waitmsgs SUBJECT N [TIMEOUT] waits until the stream holding SUBJECT has
// exactly N messages on it, and that it stays so for a moment.
func cmdWaitMsgs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitmsgs SUBJECT N [TIMEOUT]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	timeout := 30 * time.Second
	if len(args) == 3 {
		timeout, err = time.ParseDuration(args[2])
		ts.Check(err)
	}
	nc, err := scripttest.ConnectNATS(ts)
	ts.Check(err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	ts.Check(err)
	count := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		name, err := js.StreamNameBySubject(ctx, args[0])
		if err != nil {
			return -1
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			return -1
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(args[0]))
		if err != nil {
			return -1
		}
		n := 0
		for _, c := range info.State.Subjects {
			n += int(c)
		}
		return n
	}
	waitFor(ts, timeout, fmt.Sprintf("%d messages on %s", want, args[0]), count, want)
}

// waitFor polls count until it equals want, then requires it to hold for
// half a second (a count that overshoots fails at once).
func waitFor(ts *testscript.TestScript, timeout time.Duration, what string, count func() int, want int) {
	deadline := time.Now().Add(timeout)
	last := -1
	for time.Now().Before(deadline) {
		last = count()
		if last > want {
			ts.Fatalf("want %s, got %d", what, last)
		}
		if last == want {
			settle := time.Now().Add(500 * time.Millisecond)
			for time.Now().Before(settle) {
				if n := count(); n != want {
					ts.Fatalf("want %s, got %d after reaching it", what, n)
				}
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("want %s within %s, last count %d", what, timeout, last)
}
