package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BodyMatch is one "field = value" condition on a letter's JSON body.
type BodyMatch struct {
	// Path is the field's dotted path: "phone_number", "address.postcode",
	// "items.0.id" (a number indexes an array).
	Path string `json:"path"`
	// Value is compared with the field: a string field's text as it is,
	// any other field's JSON ("42", "true", "null").
	Value string `json:"value"`
}

func (m BodyMatch) String() string { return m.Path + "=" + m.Value }

// ParseBodyMatch reads "path=value" (the --body flag and the console's
// body search); the value may be empty and may hold '='.
func ParseBodyMatch(s string) (BodyMatch, error) {
	path, value, ok := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	m := BodyMatch{Path: path, Value: value}
	if !ok || m.validate() != "" {
		return m, &FilterError{Field: "body", Value: s, Want: bodyWant}
	}
	return m, nil
}

const bodyWant = "want field=value with a dotted path to a JSON field, such as phone_number=+447700900123 or address.postcode=LS1 4AP"

func (m BodyMatch) validate() string {
	if m.Path == "" {
		return bodyWant
	}
	for t := range strings.SplitSeq(m.Path, ".") {
		if strings.TrimSpace(t) == "" {
			return bodyWant
		}
	}
	return ""
}

// plainValue is a value whose JSON string form is its bytes, so a body
// that does not contain them cannot match and need not be decoded.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9 _.,+@:/-]+$`)

// matchBody reports whether data is a JSON value in which every m holds.
func matchBody(data []byte, ms []BodyMatch) bool {
	for _, m := range ms {
		if plainValue.MatchString(m.Value) && !bytes.Contains(data, []byte(m.Value)) {
			return false
		}
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return false
	}
	for _, m := range ms {
		if !m.holds(doc) {
			return false
		}
	}
	return true
}

func (m BodyMatch) holds(doc any) bool {
	v, ok := lookup(doc, m.Path)
	if !ok {
		return false
	}
	if s, isString := v.(string); isString {
		return s == m.Value
	}
	raw, err := json.Marshal(v)
	return err == nil && string(raw) == m.Value
}

// lookup follows a dotted path through objects and arrays.
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for t := range strings.SplitSeq(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[t]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// httpStatus finds the status of an API answer in an error such as
// "openmoove: POST /clients/: 400 Bad Request: …".
var httpStatus = regexp.MustCompile(`(?:^|: )([1-5]\d\d) [A-Z][A-Za-z' -]*(?::|$| \()`)

// HTTPStatus is the HTTP status of the API answer that made the last
// error, 0 when it was not an answer (a timeout, a body refused before
// any call).
func (l *Letter) HTTPStatus() int {
	m := httpStatus.FindStringSubmatch(l.Error)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Type is the message's type: the last token of its original subject, an
// event type such as offer_accepted, or create_property.
func (l *Letter) Type() string {
	return l.OriginalSubject[strings.LastIndexByte(l.OriginalSubject, '.')+1:]
}

var (
	// apiCall is the "openmoove: PATCH /milestones/9/: " an API error starts
	// with; its path holds ids, which would split one reason into many.
	apiCall = regexp.MustCompile(`^openmoove: [A-Z]+ \S*: `)
	uuidRe  = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	// leadingStatus keeps "400 Bad Request" whole while other numbers go.
	leadingStatus = regexp.MustCompile(`^[1-5]\d\d `)
	digits        = regexp.MustCompile(`\d+`)
)

// NoReason is the Reason of a letter with no error recorded.
const NoReason = "(no error recorded)"

// Reason is the group key of an error: the text with what differs from
// one message to the next taken out — the API call's method and path,
// UUIDs (<id>) and other numbers (#) but a leading HTTP status — so that
// every letter refused with "phone_number: Invalid phone number format"
// has one reason:
//
//	"400 Bad Request: phone_number: Invalid phone number format"
func Reason(err string) string {
	s := strings.Join(strings.Fields(err), " ")
	if s == "" {
		return NoReason
	}
	s = apiCall.ReplaceAllString(s, "")
	s = uuidRe.ReplaceAllString(s, "<id>")
	head := leadingStatus.FindString(s)
	return head + digits.ReplaceAllString(s[len(head):], "#")
}

// Reason is Reason(l.Error).
func (l *Letter) Reason() string { return Reason(l.Error) }

// TransactionID is the transaction_id of the letter's JSON body, "" when
// it has none (a property creation).
func (l *Letter) TransactionID() string {
	if !bytes.Contains(l.Data, []byte(`"transaction_id"`)) {
		return ""
	}
	var v struct {
		TransactionID string `json:"transaction_id"`
	}
	_ = json.Unmarshal(l.Data, &v) // not JSON: no transaction
	return v.TransactionID
}

// Page is one page of a listing.
type Page struct {
	Letters []Letter
	// Next is the cursor of the next page (Filter.After), 0 on the last.
	Next uint64
}

// MaxPageSize caps Store.Page so that one request cannot load the DLQ.
const MaxPageSize = 1000

// Page returns up to size letters f selects after the cursor f.After,
// oldest first. Only the page is held in memory, whatever the DLQ's size.
// The cursor is a stream sequence, so pages stay stable while letters
// are added, replayed or purged.
func (s *Store) Page(ctx context.Context, f Filter, size int) (Page, error) {
	if size <= 0 || size > MaxPageSize {
		return Page{}, &FilterError{Field: "limit", Value: strconv.Itoa(size), Want: "want a page size from 1 to " + strconv.Itoa(MaxPageSize)}
	}
	f.Limit = size + 1 // one more says whether there is a next page
	ls := make([]Letter, 0, size+1)
	err := s.Scan(ctx, f, func(l Letter) error {
		ls = append(ls, l)
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	p := Page{Letters: ls}
	if len(ls) > size {
		p.Letters = ls[:size]
		p.Next = ls[size-1].ID
	}
	return p, nil
}

// Group is the letters of one Reason.
type Group struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
	// Kinds and Subjects (original subjects) seen in the group, sorted.
	Kinds    []string `json:"kinds"`
	Subjects []string `json:"subjects"`
	// Example is the id of the group's first letter.
	Example uint64 `json:"example"`
	// First and Last bound the group's FailedAt.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Groups groups the letters f selects by Reason, most letters first. It
// reads every letter once and holds one Group per reason.
func (s *Store) Groups(ctx context.Context, f Filter) ([]Group, error) {
	by := map[string]*Group{}
	err := s.Scan(ctx, f, func(l Letter) error {
		r := l.Reason()
		g := by[r]
		if g == nil {
			g = &Group{Reason: r, Example: l.ID, First: l.FailedAt, Last: l.FailedAt}
			by[r] = g
		}
		g.Count++
		g.Kinds = addSorted(g.Kinds, l.Kind)
		g.Subjects = addSorted(g.Subjects, l.OriginalSubject)
		if l.FailedAt.Before(g.First) {
			g.First = l.FailedAt
		}
		if l.FailedAt.After(g.Last) {
			g.Last = l.FailedAt
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(by))
	for _, g := range by {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out, nil
}

// groupCap bounds the kinds and subjects a Group lists.
const groupCap = 20

func addSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if found || len(s) >= groupCap {
		return s
	}
	return slices.Insert(s, i, v)
}

// Count returns how many letters f selects, and the highest id among
// them: a job or a confirmation passes it as Filter.Through so that
// letters arriving later are not touched by what was counted.
func (s *Store) Count(ctx context.Context, f Filter) (n int, last uint64, err error) {
	err = s.Scan(ctx, f, func(l Letter) error {
		n++
		last = l.ID
		return nil
	})
	return n, last, err
}
