package config_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the README's settings table")

// The README's configuration table is generated from the settings table, so
// the docs cannot drift from the code. Run `go test ./config -run
// README -update` after adding a setting.
func TestREADMESettingsTable(t *testing.T) {
	testkit.GeneratedSection(t, "../README.md", "settings", table(), *update, "go test ./config -run README -update")
}

func table() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | what |\n|---|---|---|---|\n")
	for _, s := range config.Settings() {
		def := s.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		env := "`" + s.Env + "`"
		if s.Secret {
			env += " or `" + s.Env + "_FILE`"
		}
		b.WriteString("| `--" + s.Flag + "` | " + env + " | " + def + " | " + strings.ReplaceAll(s.Usage, "|", "\\|") + " |\n")
	}
	return b.String()
}
