package ingest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/ingest"
	"github.com/openmoove/omq/internal/testkit"
)

// setupItems is setup with a 1 MiB body cap and the given item cap (0: the
// default).
func setupItems(t *testing.T, maxItems int) *bundle {
	t.Helper()
	s, top := testkit.JetStream(t)
	mux := http.NewServeMux()
	_, err := ingest.Register(mux, ingest.Options{Token: token, MaxBytes: 1 << 20, MaxItems: maxItems, JS: s.JS, Topology: top, PublishTimeout: 2 * time.Second})
	require.NoError(t, err)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &bundle{url: hs.URL, js: s.JS, nats: s, top: top}
}

// emptyItems is a JSON array of empty objects of about size bytes.
func emptyItems(size int) string {
	n := (size - 2) / 3
	return "[" + strings.TrimSuffix(strings.Repeat("{},", n), ",") + "]"
}

// postRaw posts body and returns the status and the raw answer.
func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, b := send(t, url, "Bearer "+token, body)
	return resp.StatusCode, string(b)
}

// maxAnswer is the most a 400 may weigh: MaxFieldErrors clipped names and
// messages and the summary.
const maxAnswer = 8 << 10

// TestMegabyteOfEmptyItemsGetsASmallAnswer is the acceptance test of the
// bounded 400: a 1 MiB body of [{},{},…] once got an 80 MB answer on
// /v1/events and took 1.35 GB on /v1/properties.
func TestMegabyteOfEmptyItemsGetsASmallAnswer(t *testing.T) {
	t.Parallel()
	megabyte := emptyItems(1<<20 - 16)
	b := setupItems(t, 0)
	highest := setupItems(t, ingest.MaxMaxItems)
	for _, path := range []string{"/v1/events", "/v1/properties"} {
		code, ans := postRaw(t, b.url+path, megabyte)
		require.Equal(t, http.StatusBadRequest, code, path)
		require.LessOrEqual(t, len(ans), 1<<10, "%s: %d bytes", path, len(ans))
		require.Contains(t, ans, "more than 1000 items in one request (--ingest-max-items)", path)
		t.Logf("%s: 1 MiB of empty items → 400 of %d bytes", path, len(ans))

		// Under the highest item cap, the field-error cap bounds the answer.
		code, ans = postRaw(t, highest.url+path, emptyItems(3*ingest.MaxMaxItems+1))
		require.Equal(t, http.StatusBadRequest, code, path)
		require.LessOrEqual(t, len(ans), maxAnswer, "%s: %d bytes", path, len(ans))
		require.Contains(t, ans, "and more: the last", path)
		require.Contains(t, ans, `"field_errors_truncated":true`, path)
		t.Logf("%s: %d empty items → 400 of %d bytes", path, ingest.MaxMaxItems, len(ans))
	}
	require.Zero(t, b.stored(t))
	require.Zero(t, b.held(t, b.top.CommandsStream()))
}

func TestItemCap(t *testing.T) {
	t.Parallel()
	b := setupItems(t, 3)
	ev := `{"type":"offer_accepted","transaction_id":"tx-1"}`
	items := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(ev+",", n), ",") + "]" }
	a := post(t, b.url, "Bearer "+token, items(4))
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, a.body["error"], "more than 3 items")
	require.Equal(t, map[string]any{"body": []any{"must hold at most 3 items"}}, a.body["field_errors"])
	require.Zero(t, b.stored(t))
	require.Equal(t, http.StatusAccepted, post(t, b.url, "Bearer "+token, items(3)).code)
	require.EqualValues(t, 3, b.stored(t))
}

func TestFieldErrorsAreCapped(t *testing.T) {
	t.Parallel()
	b := setupItems(t, 0)
	auth := "Bearer " + token
	count := func(a answer) int {
		n := 0
		for _, msgs := range a.body["field_errors"].(map[string]any) {
			n += len(msgs.([]any))
		}
		return n
	}

	// Every item checked: the answer counts what it leaves out.
	unknown := make([]string, 25)
	for i := range unknown {
		unknown[i] = fmt.Sprintf(`"x%02d":1`, i)
	}
	a := post(t, b.url, auth, "{"+strings.Join(unknown, ",")+"}")
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Equal(t, ingest.MaxFieldErrors, count(a))
	require.Contains(t, a.body["error"], "the first 20 problems are listed, and 7 more", "25 unknown fields, no type, no transaction_id")
	require.Equal(t, true, a.body["field_errors_truncated"])
	require.Contains(t, a.body["field_errors"], "transaction_id", "fields are listed in order, the same every time")

	// Decoding stops once the list is full.
	a = post(t, b.url, auth, emptyItems(3*15+2))
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Equal(t, ingest.MaxFieldErrors, count(a))
	require.Contains(t, a.body["error"], "and more: the last 5 items were not checked", "10 items fill the list")

	// A few errors: no summary.
	a = post(t, b.url, auth, `[{"type":"offer_accepted"}]`)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.NotContains(t, a.body["error"], "listed")
	require.Nil(t, a.body["field_errors_truncated"])
}

func TestHugeFieldNamesAndValuesAreClipped(t *testing.T) {
	t.Parallel()
	b := setupItems(t, 0)
	huge := strings.Repeat("é", 100_000)
	for path, body := range map[string]string{
		"/v1/events":     `{"type":"` + huge + `","transaction_id":"tx","` + huge + `":1}`,
		"/v1/properties": `{"sale_method":"` + huge + `","products":["` + huge + `"],"` + huge + `":1}`,
	} {
		code, ans := postRaw(t, b.url+path, body)
		require.Equal(t, http.StatusBadRequest, code, path)
		require.LessOrEqual(t, len(ans), 4<<10, "%s: %d bytes", path, len(ans))
		require.Contains(t, ans, "…", path)
	}
}

func TestTimeOffsetOutOfRangeIsA400(t *testing.T) {
	t.Parallel()
	b := setupItems(t, 0)
	for _, off := range []string{"+24:00", "-24:00", "+23:60"} {
		a := post(t, b.url, "Bearer "+token, `{"type":"offer_accepted","transaction_id":"tx","occurred_at":"2024-01-15T10:30:00`+off+`"}`)
		require.Equal(t, http.StatusBadRequest, a.code, off)
		require.Contains(t, a.body["field_errors"], "occurred_at", off)
	}
	a := post(t, b.url, "Bearer "+token, `{"type":"offer_accepted","transaction_id":"tx","occurred_at":"2024-01-15t10:30:00z"}`)
	require.Equal(t, http.StatusAccepted, a.code, "RFC 3339 allows lower-case t and z")
	require.EqualValues(t, 1, b.stored(t))
}

func TestArrayWithTrailingDataIsRefused(t *testing.T) {
	t.Parallel()
	b := setupItems(t, 0)
	ev := `{"type":"offer_accepted","transaction_id":"tx"}`
	for _, body := range []string{"[" + ev + "] x", "[" + ev + "][]", "[" + ev + " " + ev + "]", "[" + ev + ",]", "[" + ev} {
		a := post(t, b.url, "Bearer "+token, body)
		require.Equal(t, http.StatusBadRequest, a.code, body)
		require.Contains(t, a.body["field_errors"], "body", body)
	}
	require.Zero(t, b.stored(t))
}
