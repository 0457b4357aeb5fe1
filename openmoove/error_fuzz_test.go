package openmoove

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// maxErrorText bounds the message of an *Error built from an answer: the
// body can be 4 MiB (maxBody) and must not be echoed whole into logs and
// dead-letter headers.
const maxErrorText = 8 << 10

// FuzzHTTPError holds the API error parser to: any answer makes an *Error
// whose message is bounded and valid UTF-8, whose kind follows the status,
// and whose wait is never negative nor past maxWait.
func FuzzHTTPError(f *testing.F) {
	f.Add(400, []byte(`{"detail":"Invalid data","field_errors":{"phone_number":["Invalid phone number format"]}}`), "", "")
	f.Add(400, []byte(`{"email":["Enter a valid email address"],"non_field_errors":["At least one professional email must be provided"]}`), "", "")
	f.Add(429, []byte(`{"detail":"Request was throttled. Expected available in 42 seconds."}`), "", "")
	f.Add(429, []byte(`{"detail":"Expected available in 1e400 seconds"}`), "1e300", "99999999999")
	f.Add(502, []byte("<html><body>Bad Gateway</body></html>"), "Fri, 31 Dec 9999 23:59:59 GMT", "")
	f.Add(400, []byte(`{"detail":"`+strings.Repeat("é", 5000)+`"}`), "", "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter, reset string) {
		status = 400 + int(uint(status)%200)
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		resp.Header.Set("Retry-After", retryAfter)
		resp.Header.Set("X-RateLimit-Reset", reset)
		e := newHTTPError(http.MethodPost, "/clients/", resp, body, time.Unix(1_700_000_000, 0))
		msg := e.Error()
		if len(msg) > maxErrorText {
			t.Fatalf("a %d-byte body made a %d-byte message", len(body), len(msg))
		}
		if !utf8.ValidString(msg) {
			t.Fatalf("message is not valid UTF-8: %q", msg)
		}
		if e.Kind != kindOf(status) {
			t.Fatalf("status %d: kind %v", status, e.Kind)
		}
		if e.Wait < 0 || e.Wait > maxWait {
			t.Fatalf("Retry-After %q, reset %q: wait %v", retryAfter, reset, e.Wait)
		}
		if !strings.HasPrefix(msg, "openmoove: POST /clients/: "+strconv.Itoa(status)) {
			t.Fatalf("message %q does not start with the call and status", msg)
		}
	})
}
