package audit

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFlagsQuoteWhatAShellWouldSplit(t *testing.T) {
	t.Parallel()
	var f Flags
	require.Equal(t, "(every dead letter)", f.String())
	f.Add("subject", "openmoove.events.>")
	f.Add("reason", "")
	f.Add("error", "it's down")
	f.Add("body", "address.postcode=SW1A 1AA")
	require.Equal(t, `--subject openmoove.events.> --error 'it'\''s down' --body 'address.postcode=SW1A 1AA'`, f.String())
}

func TestIDsShowTwentyAndTheTotal(t *testing.T) {
	t.Parallel()
	require.Equal(t, "1 2 3", IDs([]uint64{1, 2, 3}))
	ids := make([]uint64, 25)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	require.Equal(t, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 … (25 in all)", IDs(ids))
}
