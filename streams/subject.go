package streams

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSubjectLen bounds a subject omq builds from outside input; NATS itself
// allows more, but no subject of omq's layout comes near it.
const MaxSubjectLen = 512

// CheckLiteralSubject returns why s cannot be a subject omq publishes to —
// empty, an empty token (a leading, trailing or doubled "."), a wildcard
// token or character ("*", ">"), whitespace or a control character, invalid
// UTF-8, longer than MaxSubjectLen — or nil. A subject that passes names
// exactly one subject, so input that reaches it cannot widen a publish or a
// subscription.
func CheckLiteralSubject(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("subject is empty: want dot-separated tokens such as openmoove.events.offer_accepted")
	case len(s) > MaxSubjectLen:
		return fmt.Errorf("subject is %d bytes: want at most %d", len(s), MaxSubjectLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("subject %q is not valid UTF-8", s)
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" {
			return fmt.Errorf("subject %q has an empty token: no leading, trailing or doubled dots", s)
		}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("subject %q holds %q: want no wildcards, whitespace or control characters", s, r)
	}
	return nil
}
