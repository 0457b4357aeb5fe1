package imports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove"
)

// A quote left open swallows the rest of the file; the reader must turn it
// into a row that names its line instead of crashing omq import.
func TestReadCSVUnterminatedQuote(t *testing.T) {
	t.Parallel()
	csv := "first_name,last_name\nAda,Byron\n\"Grace,Hopper\n"
	rows, err := readCSV([]byte(csv))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.True(t, rows[0].Valid())
	require.Equal(t, 2, rows[0].Line)
	require.Equal(t, 3, rows[1].Line, "the bad row names the line its quote opened on")
	require.Contains(t, strings.Join(rows[1].Fields[openmoove.NonFieldErrors], " "), `extraneous or missing " in quoted-field`)
}

// A line past the reader's buffer stops the import with the line to fix,
// not a bare "token too long".
func TestReadJSONLTooLongLineNamesIt(t *testing.T) {
	t.Parallel()
	b := []byte("{}\n\n{\"first_name\":\"" + strings.Repeat("a", MaxJSONLLine) + "\"}\n")
	_, err := readJSONL(b)
	require.ErrorContains(t, err, "JSON-lines line 3: bufio.Scanner: token too long")
}

// Header errors name the line too: an import's errors always say where.
func TestReadCSVHeaderErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	_, err := readCSV(nil)
	require.ErrorContains(t, err, "CSV line 1, the header: the file is empty")
	_, err = readCSV([]byte("\n\nfirst_name,surname\n"))
	require.ErrorContains(t, err, `CSV line 3, the header: column 2 "surname" is not a field`)
}

// A CSV saved as Windows-1252 is refused row by row, naming the cell,
// instead of sending U+FFFD for every "£" to the API.
func TestReadCSVRefusesNonUTF8Cells(t *testing.T) {
	t.Parallel()
	rows, err := readCSV([]byte("first_name,property_address\nAda,\"1 \xa3 Street\"\n"))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, []string{"Not UTF-8 text: save the file as CSV UTF-8."}, rows[0].Fields["property_address"])
}

// Two request-wide errors of one row read as two, in omq import and
// omq import status alike (both print Problems()), not run together as
// "…must be provided auctioneer_email is required…".
func TestRowProblemsAreSeparated(t *testing.T) {
	t.Parallel()
	csv := "first_name,last_name,email,phone_number,property_address,property_postcode,sale_method\n" +
		"Ada,Byron,ada@example.com,07700900001,1 High Street,SW1A 1AA,modern_auction\n"
	path := filepath.Join(t.TempDir(), "p.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv), 0o600))
	want := openmoove.MsgProfessionalNeeded + "; " + openmoove.MsgAuctioneerNeeded

	_, rows, err := Read(path, "csv", nil)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, want, rows[0].Problems())
}
