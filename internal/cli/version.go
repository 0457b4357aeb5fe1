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

// Commit is the git commit omq was built from, set with -ldflags "-X
// github.com/openmoove/omq/internal/cli.Commit=…" where the build has no
// .git to read (a container build); else the Go toolchain's vcs stamp.
var Commit = ""

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

// versionLine is what omq version and omq --version print.
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return fmt.Sprintf("omq %s (%s, commit %s, nats-server %s, nats.go %s)", version(), runtime.Version(),
		commit(Commit, bi), depVersion("github.com/nats-io/nats-server/v2"), depVersion("github.com/nats-io/nats.go"))
}

// commit is the -X Commit when set, else the vcs stamp of the build (12
// hex digits, "-dirty" when the tree had changes), else "unknown" (go
// run, tests, a build outside git).
func commit(ldflag string, bi *debug.BuildInfo) string {
	if ldflag != "" {
		return ldflag
	}
	if bi == nil {
		return "unknown"
	}
	rev, dirty := "", ""
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return "unknown"
	}
	return rev[:min(12, len(rev))] + dirty
}

// versionFlag makes omq --version print what omq version prints; cobra's
// own template would say "omq version dev" and leave out the rest.
func versionFlag(root *cobra.Command) {
	root.Version = version()
	// A version or module path never holds "{{", so the line is a template
	// of itself.
	root.SetVersionTemplate(versionLine() + "\n")
}

func newVersionCmd(e *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print omq's version and the versions it was built with",
		Example: "  omq version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(e.Stdout, versionLine())
			return nil
		},
	}
}
