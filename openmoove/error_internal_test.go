package openmoove

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
)

func TestWaitOf(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	text := "Request was throttled. Expected available in 42 seconds."
	tests := []struct {
		name   string
		header map[string]string
		detail string
		want   time.Duration
	}{
		{"Retry-After seconds first", map[string]string{"Retry-After": "7", "X-RateLimit-Reset": strconv.FormatInt(now.Unix()+30, 10)}, text, 7 * time.Second},
		{"Retry-After HTTP date", map[string]string{"Retry-After": now.Add(9 * time.Second).UTC().Format(http.TimeFormat)}, "", 9 * time.Second},
		{"X-RateLimit-Reset minus now", map[string]string{"X-RateLimit-Reset": strconv.FormatInt(now.Unix()+30, 10)}, text, 30 * time.Second},
		{"reset in the past falls to the text", map[string]string{"X-RateLimit-Reset": strconv.FormatInt(now.Unix()-5, 10)}, text, 42 * time.Second},
		{"number in the text", nil, text, 42 * time.Second},
		{"singular second", nil, "Request was throttled. Expected available in 1 second.", time.Second},
		{"nothing says", nil, "slow down", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			require.Equal(t, tt.want, waitOf(h, tt.detail, now))
		})
	}
}

func TestParseBodyShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		detail string
		fields map[string][]string
		msg    string
	}{
		{"envelope", `{"detail":"Invalid data","field_errors":{"email":["Enter a valid email address"]}}`,
			"Invalid data", map[string][]string{"email": {"Enter a valid email address"}},
			"Invalid data; email: Enter a valid email address"},
		{"plain", `{"first_name":["This field is required."],"phone_number":["Invalid phone number format"]}`,
			"", map[string][]string{"first_name": {"This field is required."}, "phone_number": {"Invalid phone number format"}},
			"first_name: This field is required.; phone_number: Invalid phone number format"},
		{"non_field_errors", `{"non_field_errors":["auctioneer_email is required for auction sale methods"]}`,
			"", map[string][]string{NonFieldErrors: {MsgAuctioneerNeeded}}, MsgAuctioneerNeeded},
		{"string instead of list", `{"email":"Enter a valid email address"}`,
			"", map[string][]string{"email": {"Enter a valid email address"}}, "email: Enter a valid email address"},
		{"not JSON", "<html>Bad Gateway</html>", "<html>Bad Gateway</html>", nil, "<html>Bad Gateway</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Error{}
			parseBody(e, []byte(tt.body))
			require.Equal(t, tt.detail, e.Detail)
			require.Equal(t, tt.fields, e.FieldErrors)
			require.Equal(t, tt.msg, e.message())
		})
	}
}

func TestKindOfStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]failure.Kind{400: failure.Permanent, 401: failure.Systemic, 403: failure.Permanent,
		404: failure.Permanent, 405: failure.Permanent, 408: failure.Transient, 429: failure.Throttled,
		500: failure.Transient, 502: failure.Transient, 503: failure.Transient, 504: failure.Transient} {
		require.Equal(t, want, kindOf(status), status)
	}
}

func TestUpdateUnsupported(t *testing.T) {
	t.Parallel()
	e := &Error{Method: http.MethodPatch, Path: "/properties/x/milestones/7/", Status: 405, Kind: failure.Permanent,
		Detail: `Method "PATCH" not allowed.`}
	require.ErrorIs(t, e, ErrUpdateUnsupported)
	require.Contains(t, e.Error(), "notify-only mode")
}

// A 400 naming many fields keeps maxFieldErrors of them, in order, and
// says how many more there were, so a hostile body cannot flood a log line.
func TestParseBodyBoundsFieldErrors(t *testing.T) {
	t.Parallel()
	body := "{"
	for i := range 15 {
		body += `"f` + strconv.Itoa(10+i) + `":["bad"],`
	}
	body += `"detail":"x"}`
	e := newHTTPError(http.MethodPost, "/clients/", &http.Response{StatusCode: 400}, []byte(body), time.Now())
	require.Len(t, e.FieldErrors, maxFieldErrors)
	require.Contains(t, e.FieldErrors, "f10")
	require.NotContains(t, e.FieldErrors, "f24")
	require.Contains(t, e.Error(), "; and 5 more fields")
}
