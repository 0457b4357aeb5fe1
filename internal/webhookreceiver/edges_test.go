package webhookreceiver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/webhookreceiver"
)

// TestSignedHostileBodies: a correctly signed body that cannot name a
// subject — wrong shape, no or odd event name — is refused with 400 and
// nothing is stored.
func TestSignedHostileBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<16)
	for _, body := range []string{
		``, ` `, `null`, `[]`, `[{"event":"property.updated"}]`, `"property.updated"`,
		`{"event":7}`, `{"event":null}`, `{"event":["property.updated"]}`,
		`{"event":"*"}`, `{"event":">"}`, `{"event":"a.*.b"}`, `{"event":".."}`, `{"event":".a"}`, `{"event":"a."}`,
		`{"event":"a b"}`, `{"event":"a/b"}`, `{"event":"a\u0000b"}`, "{\"event\":\"a\xffb\"}", "{\"event\":\"a\x00b\"}",
		`{"event":"` + strings.Repeat("a", 129) + `"}`,
	} {
		require.Equal(t, http.StatusBadRequest, b.post(t, []byte(body), webhookreceiver.Sign(newSecret, []byte(body))), "%q", body)
	}
	require.EqualValues(t, 0, b.stored(t))
}
