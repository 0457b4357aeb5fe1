package deadletter

import (
	"bytes"
	"encoding/json"
	"strings"
)

// DiffLine is one line of a Diff: Op is ' ' (kept), '-' (only in the old
// body) or '+' (only in the new one).
type DiffLine struct {
	Op   byte
	Text string
}

// maxDiffLines bounds the quadratic line matching; longer bodies are
// shown as all removed, then all added.
const maxDiffLines = 2000

// Diff compares two bodies line by line after pretty-printing each when
// it is JSON, so an edit reads as the fields it changed. It is the
// shortest edit by longest common subsequence; bodies are small.
func Diff(old, new []byte) []DiffLine {
	a, b := prettyLines(old), prettyLines(new)
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		out := make([]DiffLine, 0, len(a)+len(b))
		for _, l := range a {
			out = append(out, DiffLine{'-', l})
		}
		for _, l := range b {
			out = append(out, DiffLine{'+', l})
		}
		return out
	}
	// lcs[i][j] is the common length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []DiffLine
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, DiffLine{' ', a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] > lcs[i+1][j]):
			out = append(out, DiffLine{'+', b[j]})
			j++
		default:
			out = append(out, DiffLine{'-', a[i]})
			i++
		}
	}
	return out
}

// Changed reports whether the diff has any added or removed line.
func Changed(d []DiffLine) bool {
	for _, l := range d {
		if l.Op != ' ' {
			return true
		}
	}
	return false
}

// DiffText writes only the changed lines, "-old" and "+new" one a line:
// the form the audit trail keeps.
func DiffText(d []DiffLine) string {
	var b strings.Builder
	for _, l := range d {
		if l.Op != ' ' {
			b.WriteByte(l.Op)
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Pretty returns body indented when it is JSON, else as it is.
func Pretty(body []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, body, "", "  ") == nil {
		return b.String()
	}
	return string(body)
}

func prettyLines(body []byte) []string {
	s := strings.TrimRight(Pretty(body), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
