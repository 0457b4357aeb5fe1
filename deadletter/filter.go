package deadletter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openmoove/omq/failure"
)

// Kinds are the values of HeaderErrorKind, in the order operators see them:
// the failure kinds' names, then KindExhausted.
var Kinds = []string{
	failure.Permanent.String(), failure.Transient.String(), failure.Throttled.String(), failure.Systemic.String(),
	KindExhausted,
}

// Filter selects dead letters. The zero Filter selects every one; set
// fields narrow the selection and all must match.
//
// A Filter is stored with a replay job, so its JSON form is kept stable.
type Filter struct {
	// Subject is a pattern on the original subject, NATS wildcards allowed:
	// "openmoove.events.*", "openmoove.commands.>". Empty matches all.
	Subject string `json:"subject,omitempty"`
	// Type is the message type, the last token of the original subject
	// (Letter.Type): an event type such as offer_accepted, or
	// create_property.
	Type string `json:"type,omitempty"`
	// Kinds are error kinds (see Kinds); a letter matches any of them.
	Kinds []string `json:"kinds,omitempty"`
	// Error is a case-insensitive substring of the last error or of any
	// error of the history.
	Error string `json:"error,omitempty"`
	// Reason is a group key (Reason, Letter.Reason), matched exactly: the
	// console's "select this group".
	Reason string `json:"reason,omitempty"`
	// Status is the HTTP status of the last error (Letter.HTTPStatus); 0
	// matches any.
	Status int `json:"status,omitempty"`
	// TransactionID is the body's transaction_id (Letter.TransactionID).
	TransactionID string `json:"transaction_id,omitempty"`
	// Body are conditions on the JSON body; all must hold.
	Body []BodyMatch `json:"body,omitempty"`
	// Since and Until bound the time the letter was dead-lettered
	// (HeaderFailedAt, else its time in the stream), both inclusive. The
	// zero time leaves a side open.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// After and Through bound the ids: After is excluded (a page's cursor,
	// a job's progress), Through included (the last id a count saw, so
	// that letters arriving later are left alone). 0 leaves a side open.
	After   uint64 `json:"after,omitempty"`
	Through uint64 `json:"through,omitempty"`
	// IDs are dead-letter ids (DLQ stream sequences). Ids that do not exist
	// are skipped.
	IDs []uint64 `json:"ids,omitempty"`
	// Limit stops after that many matches; 0 means no limit.
	Limit int `json:"limit,omitempty"`
}

// Empty reports whether f selects every dead letter (Limit, After and
// Through aside).
func (f Filter) Empty() bool {
	return f.Subject == "" && f.Type == "" && len(f.Kinds) == 0 && f.Error == "" && f.Reason == "" &&
		f.Status == 0 && f.TransactionID == "" && len(f.Body) == 0 &&
		f.Since.IsZero() && f.Until.IsZero() && len(f.IDs) == 0
}

// FilterError is a filter value that cannot be used. Field is the name of
// the filter (the same as the omq dlq flag: subject, type, kind, error,
// reason, status, transaction, body, since, until, after, id, limit).
type FilterError struct {
	Field string
	Value string
	// Want says what is accepted.
	Want string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Want)
}

// Validate reports the first unusable field as a *FilterError.
func (f Filter) Validate() error {
	if f.Subject != "" {
		if err := validPattern(f.Subject); err != "" {
			return &FilterError{Field: "subject", Value: f.Subject, Want: err}
		}
	}
	if f.Type != "" && (strings.ContainsAny(f.Type, ".*> \t") || strings.TrimSpace(f.Type) == "") {
		return &FilterError{Field: "type", Value: f.Type, Want: "want one subject token, an event type such as offer_accepted or create_property"}
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return &FilterError{Field: "status", Value: strconv.Itoa(f.Status), Want: "want an HTTP status from 100 to 599, such as 400"}
	}
	for _, m := range f.Body {
		if want := m.validate(); want != "" {
			return &FilterError{Field: "body", Value: m.String(), Want: want}
		}
	}
	if f.Through != 0 && f.Through <= f.After {
		return &FilterError{Field: "through", Value: strconv.FormatUint(f.Through, 10),
			Want: "want an id above after (" + strconv.FormatUint(f.After, 10) + ")"}
	}
	for _, k := range f.Kinds {
		if !slices.Contains(Kinds, k) {
			return &FilterError{Field: "kind", Value: k, Want: "want one of " + strings.Join(Kinds, ", ")}
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return &FilterError{Field: "until", Value: f.Until.Format(time.RFC3339),
			Want: "is before --since " + f.Since.Format(time.RFC3339) + "; want a later time"}
	}
	for _, id := range f.IDs {
		if id == 0 {
			return &FilterError{Field: "id", Value: "0", Want: idWant}
		}
	}
	if f.Limit < 0 {
		return &FilterError{Field: "limit", Value: strconv.Itoa(f.Limit), Want: "want 0 (no limit) or more"}
	}
	return nil
}

// validPattern returns what is wrong with a NATS subject pattern, or "".
func validPattern(p string) string {
	if strings.ContainsAny(p, " \t\r\n") {
		return "want a subject without spaces, such as openmoove.events.*"
	}
	toks := strings.Split(p, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return "has an empty token; want a subject such as openmoove.events.offer_accepted or openmoove.events.>"
		case t == ">" && i != len(toks)-1:
			return "'>' must be the last token; want a pattern such as openmoove.events.>"
		case len(t) > 1 && strings.ContainsAny(t, "*>"):
			return "a wildcard must be a whole token; want a pattern such as openmoove.events.*"
		}
	}
	return ""
}

// subjectMatches reports whether subject matches the NATS pattern.
func subjectMatches(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

const idWant = "want a dead-letter id as omq dlq list shows it, a whole number from 1"

// ParseID reads a dead-letter id.
func ParseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || id == 0 {
		return 0, &FilterError{Field: "id", Value: s, Want: idWant}
	}
	return id, nil
}

// ParseKinds reads a comma-separated list of kinds.
func ParseKinds(s string) ([]string, error) {
	var out []string
	for k := range strings.SplitSeq(s, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(Kinds, k) {
			return nil, &FilterError{Field: "kind", Value: k, Want: "want one of " + strings.Join(Kinds, ", ") + " (comma-separated for several)"}
		}
		out = append(out, k)
	}
	return out, nil
}

// ParseTime reads a time for the since or until field: RFC 3339
// ("2025-06-01T02:00:00Z"), a date ("2025-06-01", midnight UTC), or a
// duration before now ("90m", "2h", "7d").
func ParseTime(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, &FilterError{Field: field, Value: s,
		Want: "want an RFC 3339 time (2025-06-01T02:00:00Z), a date (2025-06-01) or a duration ago (30m, 2h, 7d)"}
}

func parseAgo(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(n * float64(24*time.Hour)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// ParseStatus reads an HTTP status for the status field.
func ParseStatus(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 599 {
		return 0, &FilterError{Field: "status", Value: s, Want: "want an HTTP status from 100 to 599, such as 400"}
	}
	return n, nil
}

// match reports whether l passes every field of f but IDs and Limit. The
// cheap header fields go first; the body is decoded last, and only when
// a field needs it.
func (f Filter) match(l *Letter) bool {
	if l.ID <= f.After || (f.Through != 0 && l.ID > f.Through) {
		return false
	}
	if f.Subject != "" && !subjectMatches(f.Subject, l.OriginalSubject) {
		return false
	}
	if f.Type != "" && l.Type() != f.Type {
		return false
	}
	if f.Status != 0 && l.HTTPStatus() != f.Status {
		return false
	}
	if f.Reason != "" && l.Reason() != f.Reason {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, l.Kind) {
		return false
	}
	if !f.Since.IsZero() && l.FailedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && l.FailedAt.After(f.Until) {
		return false
	}
	if f.Error != "" {
		needle := strings.ToLower(f.Error)
		found := strings.Contains(strings.ToLower(l.Error), needle)
		for _, r := range l.Errors {
			found = found || strings.Contains(strings.ToLower(r.Error), needle)
		}
		if !found {
			return false
		}
	}
	if f.TransactionID != "" && l.TransactionID() != f.TransactionID {
		return false
	}
	return len(f.Body) == 0 || matchBody(l.Data, f.Body)
}
