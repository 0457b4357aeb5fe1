package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/openmoove"
)

// Version is omq's version, set at build time with
// -ldflags "-X github.com/openmoove/omq/internal/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func depVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

func init() { openmoove.Version = version() }

func newVersionCmd(e *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print omq's version and the versions it was built with",
		Example: "  omq version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.Stdout, "omq %s (%s, nats-server %s, nats.go %s)\n", version(), runtime.Version(),
				depVersion("github.com/nats-io/nats-server/v2"), depVersion("github.com/nats-io/nats.go"))
			return nil
		},
	}
}
