package imports_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/imports"
	"github.com/openmoove/omq/internal/testkit"
)

// A file of more rows than one key holds comes back whole and in order,
// invalid rows with their problems; the same file again is one import
// with two runs; List is newest first.
func TestStoreKeepsEveryRowAndOneRecordPerFile(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	store, err := imports.OpenStore(t.Context(), srv.JS, top)
	require.NoError(t, err)

	var b strings.Builder
	b.WriteString("first_name,last_name,email,phone_number,property_address,property_postcode,conveyancer_email\n")
	for i := range 2500 {
		phone := fmt.Sprintf("07700 9%05d", i)
		if i%500 == 0 {
			phone = "not a phone"
		}
		fmt.Fprintf(&b, "Ada,Byron,ada%d@example.com,%s,%d Mill Lane,LS1 4AB,conveyancer@example.com\n", i, phone, i)
	}
	rows, err := imports.Parse([]byte(b.String()), "csv", nil)
	require.NoError(t, err)
	require.Len(t, rows, 2500)
	big := imports.File{Name: "big.csv", ID: "0123456789abcdef0123456789abcdef", Format: "csv"}
	small := imports.File{Name: "small.csv", ID: "fedcba9876543210fedcba9876543210", Format: "csv"}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	rec, err := store.Save(t.Context(), big, "cli:ada", t0, rows, imports.Summary{Queued: 2495, Invalid: 5})
	require.NoError(t, err)
	require.Equal(t, 3, rec.Chunks, "2500 rows, 1000 a key")
	_, err = store.Save(t.Context(), small, "cli:ada", t0.Add(time.Minute), rows[:1], imports.Summary{Queued: 1})
	require.NoError(t, err)
	rec, err = store.Save(t.Context(), big, "cli:grace", t0.Add(2*time.Minute), rows, imports.Summary{Already: 2495, Invalid: 5})
	require.NoError(t, err)
	require.Equal(t, 2, rec.Runs)

	list, err := store.List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 2, "the same file imported twice is one import")
	require.Equal(t, []string{"big.csv", "small.csv"}, []string{list[0].Name, list[1].Name}, "newest first")
	require.Equal(t, "cli:grace", list[0].By)
	require.Equal(t, imports.Summary{Already: 2495, Invalid: 5}, list[0].Summary)

	refs, err := store.Rows(t.Context(), list[0])
	require.NoError(t, err)
	require.Len(t, refs, 2500)
	for i, r := range refs {
		require.Equal(t, rows[i].Line, r.Line)
		require.Equal(t, rows[i].Creation.RequestID, r.RequestID)
		require.Equal(t, !rows[i].Valid(), r.Problems != "", "line %d", r.Line)
	}
	require.Contains(t, refs[500].Problems, "phone_number")

	_, err = store.Get(t.Context(), "no-such-import")
	require.ErrorIs(t, err, imports.ErrNotFound)
}
