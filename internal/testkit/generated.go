package testkit

import (
	"os"
	"strings"
	"testing"
)

// GeneratedSection keeps a generated part of a document equal to want: the
// text between the markers "<!-- name:start -->" and "<!-- name:end -->"
// of the file at path. With update it rewrites that part; otherwise a stale
// part fails t, telling the reader the command (rerun) that regenerates it.
// Tables in the README that code also holds (settings, the event →
// milestone table) use it, so the docs cannot drift from the code.
func GeneratedSection(t testing.TB, path, name, want string, update bool, rerun string) {
	t.Helper()
	start, end := "<!-- "+name+":start -->\n", "<!-- "+name+":end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q … %q markers", path, start, end)
	}
	if doc[i+len(start):j] == want {
		return
	}
	if update {
		if err := os.WriteFile(path, []byte(doc[:i+len(start)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the %s part of %s is stale; run: %s", name, path, rerun)
}
