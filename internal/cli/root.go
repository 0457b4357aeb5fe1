package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/logging"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Signals, if set, replaces SIGINT/SIGTERM for omq run (tests send on it).
	Signals <-chan os.Signal
	// Exit is called when a second signal forces omq run to stop; default
	// os.Exit.
	Exit func(code int)
	// NATSTimeout bounds each request a command makes to NATS; default
	// DefaultNATSTimeout (tests shorten it).
	NATSTimeout time.Duration
}

func (e *Env) lookupEnv(k string) (string, bool) {
	if e.LookupEnv != nil {
		return e.LookupEnv(k)
	}
	return os.LookupEnv(k)
}

// Main runs the omq command line with args (without the program name) and
// returns the exit status.
func Main(ctx context.Context, args []string, e *Env) int {
	if e.Exit == nil {
		e.Exit = os.Exit
	}
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if unknownCommand(root, args) {
		err = usage(err)
	}
	fmt.Fprintf(e.Stderr, "omq: %s\n", oneLine(err))
	if isUsage(err) {
		return 2
	}
	return 1
}

// unknownCommand reports whether args name no command of root. cobra
// reports that, before any command runs, as untyped text; looking the
// command up again is how it is told from a command's own failure.
func unknownCommand(root *cobra.Command, args []string) bool {
	_, _, err := root.Find(args)
	return err != nil
}

func newRootCmd(e *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "omq",
		Short: "Carry property-sale events into the OpenMoove Partner API through NATS JetStream",
		Long: `omq turns the events of UK property sales into OpenMoove Partner API calls,
through NATS JetStream, so that nothing is lost when the API is slow,
throttled or down. Upstream systems publish facts and property creations;
workers make the API calls at the pace the API allows, retry what can
succeed later and dead-letter what never will, with a reason.

Every setting is a flag, an OMQ_<NAME> environment variable, or a key of
the YAML file named by --config (flags win over the environment, which wins
over the file).`,
		Example: `  omq run                      # everything, on an embedded NATS and the local sandbox
  omq status                   # streams, queues and consumers of a running omq
  omq streams apply --nats-url nats://nats-1:4222 --replicas 3`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(e.Stdin)
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	root.PersistentFlags().String("config", "", "YAML file of settings, keys as the flag names (OMQ_CONFIG)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%v%s; see %s --help", err, unusedSetting(cmd, err), cmd.CommandPath())
	})
	root.AddCommand(
		newRunCmd(e),
		newPublishCmd(e),
		newImportCmd(e), newCreatePropertyCmd(e), newAssignmentsCmd(e),
		newStreamsCmd(e),
		newStatusCmd(e), newBreakerCmd(e),
		newVersionCmd(e),
		newDLQCmd(e),
		newSandboxCmd(e),
		newReportCmd(e), newTrackCmd(e), newUntrackCmd(e),
		newConsoleCmd(e), newAuditCmd(e),
	)
	argsUsage(root)
	helpByGroup(root)
	versionFlag(root)
	return root
}

// unusedSetting explains an unknown flag that is a setting of omq run: the
// command exists and so does the setting, they just do not meet.
func unusedSetting(cmd *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	for _, s := range config.Settings() {
		if s.Flag == name {
			return fmt.Sprintf(" (a setting of omq run that %s does not use)", cmd.CommandPath())
		}
	}
	return ""
}

// argsUsage makes cobra's argument-count errors ("accepts 1 arg(s),
// received 0") name the command's usage line and its --help, on cmd and
// every command under it.
func argsUsage(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			// An Args check judges only the arguments: its error is the
			// user's to fix.
			if err := check(c, args); err != nil {
				return usageErrorf("%v; usage: %s (see %s --help)", err, strings.TrimSuffix(c.UseLine(), " [flags]"), c.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		argsUsage(sub)
	}
}

// usage marks err as the user's to fix: omq exits with status 2 for it.
// It is the one usage-error mechanism of the command line: a usage error
// is one for which errors.Is(err, config.ErrUsage) holds, as it does for a
// *config.FieldError.
func usage(err error) error { return usageError{err} }

func usageErrorf(format string, args ...any) error { return usage(fmt.Errorf(format, args...)) }

// usageError carries config.ErrUsage without adding to the message.
type usageError struct{ err error }

func (u usageError) Error() string        { return u.err.Error() }
func (u usageError) Unwrap() error        { return u.err }
func (u usageError) Is(target error) bool { return target == config.ErrUsage }

func isUsage(err error) bool { return errors.Is(err, config.ErrUsage) }

func oneLine(err error) string {
	msg := strings.TrimSpace(err.Error())
	// cobra's suggestion for a mistyped command spans lines:
	// unknown command "publsh" for "omq"\n\nDid you mean this?\n\tpublish
	if head, rest, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		return head + "; did you mean " + strings.Join(strings.Fields(rest), " or ") + "? (omq --help lists the commands)"
	}
	return strings.ReplaceAll(msg, "\n", "; ")
}

// loadConfig fills c from cmd's flags, the environment and --config, and
// validates it. Errors are usage errors.
func (e *Env) loadConfig(cmd *cobra.Command, c *config.Config) error {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path, _ = e.lookupEnv("OMQ_CONFIG")
	}
	// Before Load, which marks the flags it sets from the environment as
	// changed too.
	onCommandLine := config.SecretFlags(cmd.Flags())
	if err := config.Load(cmd.Flags(), c, path, config.Source{LookupEnv: e.lookupEnv}); err != nil {
		return usage(err)
	}
	e.warnSecretFlags(onCommandLine, c)
	return nil
}

// warnSecretFlags logs one warning per secret given as a flag: any user of
// the machine reads a command line (ps, /proc), not a file of mode 0600.
func (e *Env) warnSecretFlags(names []string, c *config.Config) {
	if len(names) == 0 {
		return
	}
	log, err := logging.New(e.Stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return // Validate has checked both; nothing better to warn with
	}
	for _, n := range names {
		log.Warn("secret given as a command-line flag, readable by any user of this machine (ps); pass it in a file instead",
			"flag", "--"+n, "use", config.EnvName(n)+"_FILE")
	}
}

// bindConfig registers the setting groups on cmd and returns the Config the
// flags write into.
func bindConfig(cmd *cobra.Command, groups ...config.Group) *config.Config {
	c := config.Defaults()
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	config.Bind(fs, &c, groups...)
	cmd.Flags().AddFlagSet(fs)
	return &c
}

// printJSON is the --json output of every command: indented, and with <, >
// and & as written rather than HTML-escaped.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
