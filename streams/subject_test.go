package streams_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/streams"
)

func TestCheckLiteralSubject(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"openmoove.events.offer_accepted", "a", "openmoove.webhooks.property.milestone.updated", "x.é.y"} {
		require.NoError(t, streams.CheckLiteralSubject(ok), ok)
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a.*", "a.>", "a.b*", "a b", "a\tb", "a\x00b", "a.\u00a0", "\xff", string(make([]byte, streams.MaxSubjectLen+1))} {
		require.Error(t, streams.CheckLiteralSubject(bad), "%q", bad)
	}
}
