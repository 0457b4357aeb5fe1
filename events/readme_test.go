package events_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the README's event → milestone table")

// The README's event → milestone table is generated from
// DefaultMilestones, so the docs cannot drift from what the milestone
// worker does. Run `go test ./events -run README -update` after changing
// the table.
func TestREADMEMilestoneTable(t *testing.T) {
	testkit.GeneratedSection(t, "../README.md", "milestones", milestoneTable(), *update, "go test ./events -run README -update")
}

func milestoneTable() string {
	m := events.DefaultMilestones()
	var b strings.Builder
	b.WriteString("| event type | milestone it completes (the first of these the transaction has) |\n|---|---|\n")
	for _, typ := range events.Types() {
		names := m[typ]
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = "`" + n + "`"
		}
		b.WriteString("| `" + typ + "` | " + strings.Join(quoted, ", then ") + " |\n")
	}
	return b.String()
}
