package openmoove_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

// TestIDsCannotLeaveTheirPathSegment sends hostile property ids: each stays
// one escaped segment under /properties/, or is refused before anything is
// sent. No id may reach another endpoint ("..", "." or "" would).
func TestIDsCannotLeaveTheirPathSegment(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"detail":"Not found."}`))
	}))
	t.Cleanup(hs.Close)
	c, err := openmoove.New(openmoove.Config{BaseURL: hs.URL + "/api/v1/partners/", APIKey: "om_k"})
	require.NoError(t, err)
	for _, id := range []string{"..", ".", "", "../clients", "../../..", "a/../../b", "%2e%2e", "a?page=1", "a#x", "a b", "*", ">"} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		_, err := c.Milestones(t.Context(), id)
		require.Error(t, err, id)
		require.NotContains(t, err.Error(), "om_k")
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) == 0 {
			require.Equal(t, failure.Permanent, failure.KindOf(err), "an id refused unsent is permanent: %q", id)
			continue
		}
		for _, uri := range got {
			rest, ok := strings.CutPrefix(uri, "/api/v1/partners/properties/")
			require.True(t, ok, "id %q reached %s", id, uri)
			seg, tail, _ := strings.Cut(rest, "/")
			require.Equal(t, "milestones/", tail, "id %q reached %s", id, uri)
			require.NotContains(t, []string{"", ".", ".."}, seg, "id %q reached %s", id, uri)
			require.NotContains(t, uri, "?", "id %q reached %s", id, uri)
		}
	}
}
