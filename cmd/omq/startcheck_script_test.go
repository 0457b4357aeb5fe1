package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["waitlog"] = cmdWaitLog
}

// waitlog [-within D] FILE REGEXP waits up to 20s for a line of FILE (a
// background command's output, redirected) to match REGEXP and prints
// every matching line. With -within, the first matching line's "time"
// (omq's JSON logs) must be at most D after the file's first line: how
// long after start the process said it.
func cmdWaitLog(ts *testscript.TestScript, neg bool, args []string) {
	var within time.Duration
	if len(args) == 4 && args[0] == "-within" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		within, args = d, args[2:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlog [-within D] FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(20 * time.Second)
	for {
		lines := matching(path, re)
		if len(lines) > 0 {
			fmt.Fprint(ts.Stdout(), strings.Join(lines, ""))
			if within > 0 {
				first, _ := os.ReadFile(path)
				line, _, _ := strings.Cut(string(first), "\n")
				if took := logTime(ts, lines[0]).Sub(logTime(ts, line)); took > within {
					ts.Fatalf("%s: %q logged %s after the first line, want at most %s", args[0], args[1], took, within)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			ts.Fatalf("%s: no line matches %q within 20s; it has:\n%s", args[0], args[1], b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// matching returns FILE's complete lines that match re.
func matching(path string, re *regexp.Regexp) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return out // a partial last line is read again next time
		}
		if re.MatchString(line) {
			out = append(out, line)
		}
	}
}

func logTime(ts *testscript.TestScript, line string) time.Time {
	var rec struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Time.IsZero() {
		ts.Fatalf("not a JSON log line with a time: %q", line)
	}
	return rec.Time
}
