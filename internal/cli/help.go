package cli

import (
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openmoove/omq/config"
)

// usageTemplate is cobra's default one with the connection settings (how
// to reach NATS, the same on every command) moved under their own heading,
// so that "Flags" shows what is particular to the command.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{with commandFlags .}}

Flags:
{{.FlagUsages | trimTrailingWhitespaces}}{{end}}{{with connectionFlags .}}

Connection flags:
{{.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

var templateFuncs sync.Once

// helpByGroup gives cmd the usage template above; cobra's template
// functions are global, so they are registered once.
func helpByGroup(cmd *cobra.Command) {
	templateFuncs.Do(func() {
		cobra.AddTemplateFuncs(map[string]any{
			"commandFlags":    func(c *cobra.Command) *pflag.FlagSet { return localFlags(c, false) },
			"connectionFlags": func(c *cobra.Command) *pflag.FlagSet { return localFlags(c, true) },
		})
	})
	cmd.SetUsageTemplate(usageTemplate)
}

// localFlags are cmd's own visible flags that are (or are not) connection
// settings, or nil when there are none, so the template leaves the heading
// out.
func localFlags(cmd *cobra.Command, connection bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && isConnection(f) == connection {
			fs.AddFlag(f)
		}
	})
	if !fs.HasFlags() {
		return nil
	}
	return fs
}

func isConnection(f *pflag.Flag) bool {
	g := f.Annotations[config.GroupAnnotation]
	return len(g) == 1 && g[0] == string(config.GroupNATS)
}
