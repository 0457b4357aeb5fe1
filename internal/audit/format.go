package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// IDs is the Target of an action on dead letters by id: the first twenty
// and how many in all, the same words from the console and the CLI.
func IDs(ids []uint64) string {
	const shown = 20
	parts := make([]string, 0, min(len(ids), shown))
	for _, id := range ids[:min(len(ids), shown)] {
		parts = append(parts, strconv.FormatUint(id, 10))
	}
	s := strings.Join(parts, " ")
	if len(ids) > shown {
		s += fmt.Sprintf(" … (%d in all)", len(ids))
	}
	return s
}

// Flags writes an action's filter as omq dlq flags, what the trail records
// and an operator can paste into a terminal. The zero value is ready.
type Flags struct{ parts []string }

// Add appends --name v, quoted for a shell; an empty v is no filter.
func (f *Flags) Add(name, v string) {
	if v != "" {
		f.parts = append(f.parts, "--"+name+" "+shellQuote(v))
	}
}

// String is the flags, or "(every dead letter)" when none narrows.
func (f *Flags) String() string {
	if len(f.parts) == 0 {
		return "(every dead letter)"
	}
	return strings.Join(f.parts, " ")
}

// shellQuote quotes s for a shell unless it is plain.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == ',' || r == '*' || r == '>' || r == '=' || r == ':' || r == '+' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
