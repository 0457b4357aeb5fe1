package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// megabyteOfEmptyItems is [{},{},…] of just under 1 MiB: 349 524 items.
var megabyteOfEmptyItems = []byte("[" + strings.TrimSuffix(strings.Repeat("{},", (1<<20-2)/3), ",") + "]")

var decoders = map[string]Decoder{"events": decodeEvents, "properties": decodeProperties}

// TestMegabyteOfEmptyItemsAllocatesLittle bounds the work a refused 1 MiB
// body costs: with the item cap, a few thousand allocations (splitting the
// first 1001 items) instead of one error map per item.
func TestMegabyteOfEmptyItemsAllocatesLittle(t *testing.T) {
	// Not parallel: AllocsPerRun refuses to run beside other tests.
	for name, decode := range decoders {
		for _, maxItems := range []int{DefaultMaxItems, MaxMaxItems} {
			s := &Server{opts: Options{MaxItems: maxItems}}
			allocs := testing.AllocsPerRun(3, func() {
				_, err := decode(s, megabyteOfEmptyItems, "")
				require.Error(t, err)
			})
			t.Logf("%s, max items %d: %.0f allocations", name, maxItems, allocs)
			// Two or so per item split, up to maxItems+1; nothing per error.
			require.Less(t, allocs, float64(3*maxItems), "%s, max items %d", name, maxItems)
		}
	}
}

// BenchmarkMegabyteOfEmptyItems measures a refused 1 MiB body of empty
// items: with the default item cap, the highest the setting allows, and an
// item cap the body does not reach (only the field-error cap stands).
func BenchmarkMegabyteOfEmptyItems(b *testing.B) {
	for _, name := range []string{"events", "properties"} {
		for _, maxItems := range []int{DefaultMaxItems, MaxMaxItems, 1 << 20} {
			b.Run(fmt.Sprintf("%s/max-items=%d", name, maxItems), func(b *testing.B) {
				s := &Server{opts: Options{MaxItems: maxItems}}
				b.ReportAllocs()
				b.SetBytes(int64(len(megabyteOfEmptyItems)))
				for b.Loop() {
					if _, err := decoders[name](s, megabyteOfEmptyItems, ""); err == nil {
						b.Fatal("accepted")
					}
				}
			})
		}
	}
}
