package repotest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every fuzz target in the tree is in the Makefile's FUZZ_TARGETS, so make
// fuzz runs a new one without anybody remembering to add it, and every
// listed target exists.
func TestMakeFuzzRunsEveryTarget(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`(\./[\w/]+):(Fuzz\w+)`).FindAllStringSubmatch(string(mk), -1)
	var want []string
	for _, m := range listed {
		want = append(want, m[1]+":"+m[2])
	}
	decl := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	var found []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			found = append(found, "./"+filepath.ToSlash(rel)+":"+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(found)
	if len(found) == 0 {
		t.Fatal("found no fuzz targets in the tree; the walk is broken")
	}
	for _, f := range found {
		if !slices.Contains(want, f) {
			t.Errorf("fuzz target %s is not in the Makefile's FUZZ_TARGETS; add it so make fuzz runs it", f)
		}
	}
	for _, w := range want {
		if !slices.Contains(found, w) {
			t.Errorf("the Makefile's FUZZ_TARGETS lists %s, which does not exist", w)
		}
	}
}
