package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove"
)

// omq import prints a row's two request-wide errors as two (the reader's
// half of this is internal/imports' TestRowProblemsAreSeparated).
func TestImportPrintsRowProblemsSeparated(t *testing.T) {
	t.Parallel()
	csv := "first_name,last_name,email,phone_number,property_address,property_postcode,sale_method\n" +
		"Ada,Byron,ada@example.com,07700900001,1 High Street,SW1A 1AA,modern_auction\n"
	path := filepath.Join(t.TempDir(), "p.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv), 0o600))
	want := openmoove.MsgProfessionalNeeded + "; " + openmoove.MsgAuctioneerNeeded

	code, _, errOut := runOMQ("import", path, "--dry-run")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, "line 2: "+want+"\n")
}
