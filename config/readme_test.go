package config_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/openmoove/omq/config"
)

var update = flag.Bool("update", false, "rewrite the README's settings table")

// The README's configuration table is generated from the settings table, so
// the docs cannot drift from the code. Run `go test ./config -run
// README -update` after adding a setting.
func TestREADMESettingsTable(t *testing.T) {
	const path = "../README.md"
	const start, end = "<!-- settings:start -->\n", "<!-- settings:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README lacks the %q … %q markers", start, end)
	}
	want := table()
	got := readme[i+len(start) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(start)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README settings table is stale; run: go test ./config -run README -update")
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
