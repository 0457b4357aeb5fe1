package cli

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/system"
)

// helpGroups is, per command, the setting groups its --help may show: the
// ones whose settings the command reads. A new command must be added here.
var helpGroups = map[string][]config.Group{
	"omq":                 nil,
	"omq run":             {config.GroupNATS, config.GroupServer, config.GroupAPI, config.GroupLog, config.GroupStreams, config.GroupLayout, config.GroupIngest, config.GroupWorkers, config.GroupDomain, config.GroupProperties, config.GroupTracking, config.GroupRisk, config.GroupTracing},
	"omq publish":         {config.GroupNATS, config.GroupStreams, config.GroupTracing},
	"omq import":          {config.GroupNATS, config.GroupStreams, config.GroupProperties, config.GroupTracing},
	"omq import status":   {config.GroupNATS, config.GroupStreams, config.GroupProperties},
	"omq create-property": {config.GroupNATS, config.GroupStreams, config.GroupProperties},
	"omq assignments":     {config.GroupNATS, config.GroupStreams, config.GroupProperties},
	"omq streams":         nil,
	"omq streams apply":   {config.GroupNATS, config.GroupStreams, config.GroupLayout},
	"omq backup":          {config.GroupNATS, config.GroupStreams},
	"omq restore":         {config.GroupNATS, config.GroupStreams, config.GroupLayout},
	"omq status":          {config.GroupNATS, config.GroupStreams, config.GroupLayout, config.GroupWorkers},
	"omq version":         nil,
	"omq dlq":             nil,
	"omq dlq list":        {config.GroupNATS, config.GroupStreams},
	"omq dlq show":        {config.GroupNATS, config.GroupStreams},
	"omq dlq replay":      {config.GroupNATS, config.GroupStreams, config.GroupTracing},
	"omq dlq edit":        {config.GroupNATS, config.GroupStreams},
	"omq dlq jobs":        {config.GroupNATS, config.GroupStreams},
	"omq dlq export":      {config.GroupNATS, config.GroupStreams},
	"omq dlq purge":       {config.GroupNATS, config.GroupStreams},
	"omq dlq stats":       {config.GroupNATS, config.GroupStreams},
	"omq sandbox":         {config.GroupLog},
	"omq report":          {config.GroupNATS, config.GroupStreams, config.GroupRisk},
	"omq track":           {config.GroupNATS, config.GroupStreams},
	"omq untrack":         {config.GroupNATS, config.GroupStreams},
	"omq breaker":         nil,
	"omq breaker status":  {config.GroupNATS, config.GroupStreams, config.GroupWorkers},
	"omq breaker probe":   {config.GroupNATS, config.GroupStreams, config.GroupAPI, config.GroupWorkers},
	"omq breaker resume":  {config.GroupNATS, config.GroupStreams, config.GroupAPI, config.GroupWorkers},
	"omq console":         {config.GroupNATS, config.GroupStreams, config.GroupServer, config.GroupAPI, config.GroupWorkers, config.GroupLayout, config.GroupRisk, config.GroupLog},
	"omq console adduser": nil,
	"omq audit":           {config.GroupNATS, config.GroupStreams},
}

var helpFlag = regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)`)

// helpSections reads --help output into the flags listed under each
// heading ("Flags", "Connection flags", "Global Flags").
func helpSections(out string) map[string][]string {
	sections := map[string][]string{}
	heading := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			heading = strings.TrimSuffix(line, ":")
			continue
		}
		// Only flag sections: an example's continuation line may start
		// with a flag too.
		if m := helpFlag.FindStringSubmatch(line); m != nil && strings.HasSuffix(strings.ToLower(heading), "flags") {
			sections[heading] = append(sections[heading], m[1])
		}
	}
	return sections
}

// settingGroup is the group of the setting flag f of c; a command's own
// flag of the same name (omq sandbox's --webhook-secret) is no setting.
func settingGroup(c *cobra.Command, f string) (config.Group, bool) {
	fl := c.Flags().Lookup(f)
	if fl == nil {
		fl = c.InheritedFlags().Lookup(f)
	}
	if fl == nil { // --help, added when the command runs
		return "", false
	}
	g := fl.Annotations[config.GroupAnnotation]
	if len(g) != 1 {
		return "", false
	}
	return config.Group(g[0]), true
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		out = append(out, allCommands(sub)...)
	}
	return out
}

// Every command's --help lists the settings of the groups it reads and no
// others, with the connection settings under their own heading.
func TestHelpShowsOnlyTheSettingsACommandUses(t *testing.T) {
	t.Parallel()
	for _, c := range allCommands(newRootCmd(&Env{})) {
		path := c.CommandPath()
		want, ok := helpGroups[path]
		require.True(t, ok, "%s is missing from helpGroups: add the setting groups it reads", path)
		args := append(strings.Fields(path)[1:], "--help")
		code, out, errOut := runOMQ(args...)
		require.Equal(t, 0, code, errOut)
		sections := helpSections(out)
		var shown []config.Group
		for heading, flags := range sections {
			for _, f := range flags {
				g, isSetting := settingGroup(c, f)
				if !isSetting {
					continue
				}
				shown = append(shown, g)
				require.Equal(t, g == config.GroupNATS, heading == "Connection flags",
					"%s: --%s is listed under %q", path, f, heading)
			}
		}
		require.Equal(t, sortedGroups(want), sortedGroups(shown), "%s --help: groups shown", path)
	}
}

func sortedGroups(gs []config.Group) []config.Group {
	out := []config.Group{}
	for _, g := range gs {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// The example, word for word: create-property's help names its own
// fields and how to reach NATS, not the monitor's or the poller's settings.
func TestCreatePropertyHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runOMQ("create-property", "--help")
	require.Equal(t, 0, code)
	sections := helpSections(out)
	require.Contains(t, sections["Flags"], "first-name")
	require.Contains(t, sections["Flags"], "default-estate-agent-email")
	require.Contains(t, sections["Connection flags"], "nats-url")
	require.Contains(t, sections["Connection flags"], "data-dir")
	for _, f := range []string{"alert-every", "poll-overdue", "milestone-map", "replicas", "dlq-max-bytes", "concurrency"} {
		require.NotContains(t, out, "--"+f+" ", "create-property --help")
	}
}

// A setting a command does not take is refused, not silently ignored.
func TestUnboundSettingIsRefused(t *testing.T) {
	t.Parallel()
	code, out, errOut := runOMQ("create-property", "--alert-every", "1h")
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Equal(t, "omq: unknown flag: --alert-every (a setting of omq run that omq create-property does not use); see omq create-property --help\n", errOut)
	_, _, errOut = runOMQ("create-property", "--alert-everi", "1h")
	require.Equal(t, "omq: unknown flag: --alert-everi; see omq create-property --help\n", errOut, "a typo is only unknown")
}

// --only's roles are listed where an operator looks first, with what each
// does, not only in the error of a wrong one.
func TestRunHelpListsRoles(t *testing.T) {
	t.Parallel()
	code, out, _ := runOMQ("run", "--help")
	require.Equal(t, 0, code)
	roles := system.Roles()
	require.NotEmpty(t, roles)
	for _, r := range roles {
		require.Regexp(t, `(?m)^  `+regexp.QuoteMeta(r.Name)+`\s+`+regexp.QuoteMeta(r.Description)+`$`, out)
	}
}

// omq --version is omq version.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	code, flagOut, errOut := runOMQ("--version")
	require.Equal(t, 0, code, errOut)
	_, cmdOut, _ := runOMQ("version")
	require.Equal(t, cmdOut, flagOut)
	require.True(t, strings.HasPrefix(flagOut, "omq "), flagOut)
}
