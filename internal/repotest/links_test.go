package repotest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownLink is an inline link or image target, [text](target "title"),
// or a reference definition, [name]: target.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)|(?m)^\s*\[[^\]]+\]:\s+(\S+)`)

// codePath is a relative path in backquotes that climbs out of its
// directory, such as `../shared/spec/x.md`: a reader follows it as a link.
var codePath = regexp.MustCompile("`(\\.\\./[^`\\s]+)`")

// Every relative link of the README and docs/ names a file or directory of
// the repository: a reader of a clone or of GitHub has nothing else.
func TestDocLinksStayInTheRepository(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(root, "README.md"))
	for _, doc := range docs {
		for _, bad := range badLinks(t, root, doc) {
			t.Errorf("%s", bad)
		}
	}
}

// badLinks names each relative link of doc that leaves root or names
// nothing.
func badLinks(t *testing.T, root, doc string) []string {
	t.Helper()
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, doc)
	var bad []string
	for _, target := range linkTargets(string(b)) {
		if isExternal(target) {
			continue
		}
		path, _, _ := strings.Cut(target, "#")
		if path == "" {
			continue // an anchor in the same file
		}
		abs := filepath.Join(filepath.Dir(doc), filepath.FromSlash(path))
		if r, err := filepath.Rel(root, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			bad = append(bad, rel+": "+target+" points outside the repository; link to a file in it or to a public URL")
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			bad = append(bad, rel+": "+target+" names no file of the repository; fix the path")
		}
	}
	return bad
}

func linkTargets(md string) []string {
	var out []string
	for _, m := range markdownLink.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1]+m[2])
	}
	for _, m := range codePath.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

func isExternal(target string) bool {
	return strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:")
}

// The checker itself finds what it must: a link out, a missing file, and
// the path in backquotes that docs/sandbox.md once had.
func TestBadLinksAreFound(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(root, "docs", "a.md")
	md := "[ok](../README.md) [ok](a.md#x) [ok](#top) [web](https://example.com/x)\n" +
		"[out](../../elsewhere.md) [gone](missing.md)\n" +
		"the contract (`../../shared/spec/openmoove-partner-api.md`)\n[ref]: ../nope/\n"
	for name, content := range map[string]string{doc: md, filepath.Join(root, "README.md"): ""} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad := badLinks(t, root, doc)
	want := []string{"../../elsewhere.md points outside", "missing.md names no file", "../nope/ names no file", "../../shared/spec/openmoove-partner-api.md points outside"}
	if len(bad) != len(want) {
		t.Fatalf("found %q, want %d problems", bad, len(want))
	}
	for i, w := range want {
		if !strings.Contains(bad[i], w) {
			t.Errorf("problem %d: %q, want it to say %q", i, bad[i], w)
		}
	}
}
