package events_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/openmoove/omq/events"
)

var update = flag.Bool("update", false, "rewrite the README's event → milestone table")

// The README's event → milestone table is generated from
// DefaultMilestones, so the docs cannot drift from what the milestone
// worker does. Run `go test ./events -run README -update` after changing
// the table.
func TestREADMEMilestoneTable(t *testing.T) {
	const path = "../README.md"
	const start, end = "<!-- milestones:start -->\n", "<!-- milestones:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README lacks the %q … %q markers", start, end)
	}
	want := milestoneTable()
	if readme[i+len(start):j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(start)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README event → milestone table is stale; run: go test ./events -run README -update")
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
