package openmoove

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openmoove/omq/failure"
)

// NonFieldErrors is the FieldErrors key of errors about the request as a
// whole, as Django REST Framework names it.
const NonFieldErrors = "non_field_errors"

// ErrUpdateUnsupported matches (errors.Is) an *Error from UpdateMilestone when
// the API answered 405: it has no milestone update endpoint. Run the
// milestone worker in notify-only mode against such an API.
var ErrUpdateUnsupported = errors.New("openmoove: the API has no milestone update endpoint")

// ErrNotSent matches (errors.Is) the error of a call that Config.BeforeRequest
// refused (omq's budget was spent): nothing reached the API, so a creation
// certainly did not happen. The refusal's own error, and its failure kind,
// stay in the chain.
var ErrNotSent = errors.New("openmoove: request not sent")

type notSentError struct {
	method, path string
	err          error
}

func (e *notSentError) Error() string {
	return fmt.Sprintf("openmoove: %s %s: not sent: %v", e.method, e.path, e.err)
}

func (e *notSentError) Unwrap() error { return e.err }

func (e *notSentError) Is(target error) bool { return target == ErrNotSent }

// Error is every failure of a Client call: an HTTP answer that is not a
// success, or a request that got no answer. Its Kind tells the worker loop
// what to do (see package failure).
type Error struct {
	Method string // "GET", "POST", "PATCH"
	Path   string // relative to the base URL, without the query: "/clients/"
	// Status is the HTTP status, 0 when no answer came (network, timeout).
	Status int
	Kind   failure.Kind
	// Detail is the body's "detail" text, or a description of what failed.
	Detail string
	// FieldErrors holds field messages from any 400 shape; errors about the
	// request as a whole are under NonFieldErrors.
	FieldErrors map[string][]string
	// Wait is how long a 429 asked to wait (Retry-After, else
	// X-RateLimit-Reset minus now, else the number in the text).
	Wait time.Duration
	// Err is the cause when no answer came (url.Error unwrapped so the
	// request URL stays out of messages); errors.Is reaches it.
	Err error
	// omitted counts the fields of the answer past maxFieldErrors.
	omitted int
}

// Error reads like "openmoove: POST /clients/: 400 Bad Request:
// phone_number: Invalid phone number format".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "openmoove: %s %s: ", e.Method, e.Path)
	if e.Status == 0 {
		b.WriteString(e.Detail)
		if e.Err != nil {
			if e.Detail != "" {
				b.WriteString(": ")
			}
			b.WriteString(e.Err.Error())
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if msg := e.message(); msg != "" {
		b.WriteString(": " + msg)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func (e *Error) message() string {
	parts := make([]string, 0, 1+len(e.FieldErrors))
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	parts = append(parts, formatFields(e.FieldErrors)...)
	if e.omitted > 0 {
		parts = append(parts, fmt.Sprintf("and %d more fields", e.omitted))
	}
	return strings.Join(parts, "; ")
}

func (e *Error) hint() string {
	switch {
	case e.Status == http.StatusTooManyRequests && e.Wait > 0:
		return "retry after " + e.Wait.String()
	case e.Status == http.StatusUnauthorized:
		return "check the API key: it is missing, revoked or for another environment"
	case e.isUpdateUnsupported():
		return "this API cannot update milestones; run the milestone worker in notify-only mode"
	}
	return ""
}

func (e *Error) isUpdateUnsupported() bool {
	return e.Method == http.MethodPatch && e.Status == http.StatusMethodNotAllowed &&
		strings.Contains(e.Path, "/milestones/")
}

// formatFields renders field errors sorted by field, request-wide ones
// without a field prefix.
func formatFields(fields map[string][]string) []string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		// "; " as between fields: the API's messages do not all end in a
		// full stop, and two run together read as one.
		msg := strings.Join(fields[k], "; ")
		if k != NonFieldErrors {
			msg = k + ": " + msg
		}
		out = append(out, msg)
	}
	return out
}

// Unwrap returns the network cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUpdateUnsupported) true for a 405 on the
// milestone update.
func (e *Error) Is(target error) bool {
	return target == ErrUpdateUnsupported && e.isUpdateUnsupported()
}

// FailureKind implements failure.Classified.
func (e *Error) FailureKind() failure.Kind { return e.Kind }

// RetryAfter implements failure.Waiter.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// kindOf maps an HTTP status to a failure kind.
func kindOf(status int) failure.Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return failure.Throttled
	case status == http.StatusUnauthorized:
		return failure.Systemic
	case status == http.StatusRequestTimeout:
		return failure.Transient
	case status >= 400 && status < 500:
		return failure.Permanent
	default:
		return failure.Transient
	}
}

// StatusOf returns the HTTP status of an *Error in err's chain, 0 if none.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnauthorized reports a 401 (the key is missing or wrong).
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// IsForbidden reports a 403 (the property belongs to another partner).
func IsForbidden(err error) bool { return StatusOf(err) == http.StatusForbidden }

// IsBadRequest reports a 400 (invalid data; never retry the same payload).
func IsBadRequest(err error) bool { return StatusOf(err) == http.StatusBadRequest }

// IsThrottled reports a 429.
func IsThrottled(err error) bool { return StatusOf(err) == http.StatusTooManyRequests }

// FieldErrorsOf returns the field errors of an *Error or *ValidationError in
// err's chain, nil if none.
func FieldErrorsOf(err error) map[string][]string {
	var e *Error
	if errors.As(err, &e) {
		return e.FieldErrors
	}
	var v *ValidationError
	if errors.As(err, &v) {
		return v.Fields
	}
	return nil
}

// maxWait caps the wait a 429 asks for: a clock or a header gone wrong
// must not park a worker for years (nor overflow into a negative wait).
const maxWait = 24 * time.Hour

var throttleText = regexp.MustCompile(`(?i)available in (\d+(?:\.\d+)?) seconds?`)

// newHTTPError builds the *Error of a non-success answer.
func newHTTPError(method, path string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{Method: method, Path: path, Status: resp.StatusCode, Kind: kindOf(resp.StatusCode)}
	parseBody(e, body)
	if e.Status == http.StatusTooManyRequests {
		e.Wait = waitOf(resp.Header, e.Detail, now)
	}
	return e
}

// Bounds of what an answer's body puts into an *Error: the body can be
// maxBody long and the message reaches logs and dead-letter headers.
const (
	maxDetail       = 300 // characters of "detail"
	maxFieldName    = 64
	maxFieldMessage = 200 // characters of one message
	maxFieldErrors  = 10  // fields kept; the rest are counted
	maxMessages     = 3   // messages kept per field
)

// parseBody reads every error shape of the spec: {"detail", "field_errors"},
// plain {"field": ["msg"]} and {"non_field_errors": [...]}. A body that is
// not a JSON object (a proxy's HTML page) becomes a short Detail. What it
// keeps is bounded (see maxDetail and the rest).
func parseBody(e *Error, body []byte) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		e.Detail = snippet(body)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		raw := obj[k]
		switch k {
		case "detail":
			var s string
			if json.Unmarshal(raw, &s) == nil {
				e.Detail = clip(s, maxDetail)
			} else {
				e.Detail = snippet(raw)
			}
		case "field_errors":
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) == nil {
				for _, f := range slices.Sorted(maps.Keys(m)) {
					addField(e, f, m[f])
				}
			}
		default:
			addField(e, k, raw)
		}
	}
}

// addField records messages given as a list of strings or a single string;
// other values (nested serializers) are kept as their JSON text. Past
// maxFieldErrors fields, a field is only counted.
func addField(e *Error, field string, raw json.RawMessage) {
	var msgs []string
	if json.Unmarshal(raw, &msgs) != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			msgs = []string{s}
		} else {
			msgs = []string{snippet(raw)}
		}
	}
	if len(msgs) == 0 {
		return
	}
	if e.FieldErrors == nil {
		e.FieldErrors = map[string][]string{}
	}
	field = clip(field, maxFieldName)
	if _, ok := e.FieldErrors[field]; !ok && len(e.FieldErrors) >= maxFieldErrors {
		e.omitted++
		return
	}
	for _, m := range msgs {
		if len(e.FieldErrors[field]) == maxMessages {
			break
		}
		e.FieldErrors[field] = append(e.FieldErrors[field], clip(m, maxFieldMessage))
	}
}

// snippet is b on one line, clipped, as valid UTF-8.
func snippet(b []byte) string {
	return clip(strings.Join(strings.Fields(string(b)), " "), 200)
}

// clip cuts s to n characters (runes), marking the cut with "…", and
// replaces invalid UTF-8 so the text is safe in logs and headers.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// waitOf reads a 429's wait: Retry-After first, then X-RateLimit-Reset, then
// the number in the DRF text. Zero when none says.
func waitOf(h http.Header, detail string, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return seconds(secs)
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return min(t.Sub(now), maxWait)
		}
	}
	if rl, ok := parseRateLimit(h); ok && !rl.Reset.IsZero() && rl.Reset.After(now) {
		return min(rl.Reset.Sub(now), maxWait)
	}
	if m := throttleText.FindStringSubmatch(detail); m != nil {
		secs, _ := strconv.ParseFloat(m[1], 64)
		return seconds(secs)
	}
	return 0
}

// seconds converts a wait in seconds, capped at maxWait before the
// conversion can overflow.
func seconds(secs float64) time.Duration {
	if secs >= maxWait.Seconds() {
		return maxWait
	}
	return time.Duration(secs * float64(time.Second))
}

// parseRateLimit reads X-RateLimit-*; ok is false when none is present.
func parseRateLimit(h http.Header) (RateLimit, bool) {
	rl := RateLimit{Limit: -1, Remaining: -1}
	ok := false
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil {
		rl.Limit, ok = n, true
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil {
		rl.Remaining, ok = n, true
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && n > 0 {
		rl.Reset, ok = time.Unix(n, 0), true
	}
	return rl, ok
}
