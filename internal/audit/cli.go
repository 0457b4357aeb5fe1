package audit

import (
	"os"
	"os/user"
	"strings"
)

// CLIRole is the Role of an action taken with the omq command: whoever can
// reach NATS with omq's credentials may act, so there is no console role.
const CLIRole = "cli"

// CLIUser names the OS user running omq, "cli:<name>", for the trail of an
// action taken from the command line; "cli:unknown" when the system cannot
// say.
func CLIUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	for _, v := range []string{"USER", "USERNAME", "LOGNAME"} {
		if n := os.Getenv(v); n != "" {
			return "cli:" + n
		}
	}
	return "cli:unknown"
}

// Result is an entry's Result for an action's error: "ok", or the error on
// one line.
func Result(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
