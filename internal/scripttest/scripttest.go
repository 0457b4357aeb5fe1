// Package scripttest holds testscript commands shared by omq's script
// tests (cmd/omq and internal/cli), so each is written once.
package scripttest

import (
	"errors"
	"os"
	"os/exec"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openmoove/omq/internal/broker"
)

// Exits is the script command "exits CODE PROGRAM [ARGS...]": it runs the
// program as exec does (its stdout and stderr kept for the next
// stdout/stderr check) and checks its exit status, for "bad input exits 2"
// where `! exec` only knows "not 0".
func Exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// ConnectNATS connects to the NATS of the omq run a script started, as the
// README tells any NATS client to: nats://$NATS_ADDR with user omq and the
// password omq run generated in $OMQ_DATA_DIR. opts come after and may
// override the credentials.
func ConnectNATS(ts *testscript.TestScript, opts ...nats.Option) (*nats.Conn, error) {
	creds, err := broker.ReadPassword(ts.Getenv("OMQ_DATA_DIR"))
	if err != nil {
		return nil, err
	}
	return nats.Connect("nats://"+ts.Getenv("NATS_ADDR"), append(creds.Options(), opts...)...)
}

// FileMode is the script command "filemode FILE MODE": FILE's permission
// bits are MODE (octal, such as 0600); negated, they are not.
func FileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o; want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}
